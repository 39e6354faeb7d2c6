/**
 * `kmsgate verify-attestation --nonce <hex> [file|-]`: checks the JSON of a TEE backend's
 * GET /attestation offline (../attestation/verify.ts: node:crypto only). Exit 0 verified,
 * 1 not verified, 2 a usage mistake or an unreadable attestation. It needs no store.
 */
import { readFileSync } from 'node:fs';
import { CliError, printable, type CommandModule } from '../context';
import { verifyAttestation } from '../attestation/verify';

export const verifyAttestationCommands: CommandModule = (program, { io, setExitCode }) => {
  program
    .command('verify-attestation')
    .description("verify a TEE backend's attestation (the JSON of GET /attestation) offline with node:crypto")
    .argument('[file]', 'the attestation JSON; - or nothing: stdin', '-')
    .option('--nonce <hex>', 'the nonce you sent (required: it makes the attestation fresh)')
    .option('--measurement <hex>', 'the TA measurement you expect (which TA build)')
    .option('--public-key <hex>', 'the pinned device attestation key (DER SPKI, hex, as in the JSON): which device')
    .action((file: string, opts: { nonce?: string; measurement?: string; publicKey?: string }) => {
      if (!opts.nonce) throw new CliError('--nonce is required: the nonce you sent with GET /attestation');
      let doc: unknown;
      try {
        doc = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
      } catch (e) {
        throw new CliError(`cannot read the attestation from ${file === '-' ? 'stdin' : printable(file)}: ${(e as Error).message}`);
      }
      const verdict = verifyAttestation(doc, {
        nonce: opts.nonce,
        ...(opts.measurement !== undefined && { measurement: opts.measurement }),
        ...(opts.publicKey !== undefined && { publicKey: opts.publicKey }),
      });
      if (!verdict.ok) {
        io.stdout(`NOT VERIFIED: ${verdict.reason}\n`);
        setExitCode(1);
        return;
      }
      for (const w of verdict.warnings) io.stdout(`warning: ${w}\n`);
      io.stdout(
        `VERIFIED: signature over domain ‖ nonce ‖ measurement\n  measurement:            ${verdict.measurement}\n  attestation key sha256: ${verdict.fingerprint}\n`,
      );
    });
};
