export { run } from './cli';
export type { CliContext, CliIo, CommandModule } from './context';
export { verifyAttestation, type AttestationDocument, type Expectations, type Verdict } from './attestation/verify';
