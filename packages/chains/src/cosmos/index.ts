export { decodeCosmosAminoSignDoc } from './amino';
export { MAX_SIGN_DOC_BYTES, decodeCosmosSignDoc } from './direct';
export { MAX_EXEC_DEPTH } from './messages';
export type * from './types';
