export { decodeSolanaMessage } from './decode';
export { SYSTEM_PROGRAM_ID, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID } from './programs';
export type * from './types';
