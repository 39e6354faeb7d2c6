/**
 * `kmsgate api-key …`: the api-key CLI (generate, list, scope, revoke) as a command of kmsgate, with
 * the same arguments, output and exit codes; `api-key` on its own stays for those who know it.
 */
import { run as runApiKey } from '@kmsgate/api-key';
import type { CommandModule } from '../context';

export const apiKeyCommands: CommandModule = (program, { io, setExitCode }) => {
  program
    .command('api-key')
    .description('manage API keys (x-api-key values and SigV4 credentials): generate, list, scope, revoke; `kmsgate api-key --help`')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]', 'the api-key command and its options')
    .action(async (args: string[]) => {
      setExitCode(await runApiKey(args, io));
    });
};
