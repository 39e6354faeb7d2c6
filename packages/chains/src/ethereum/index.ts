export { MAX_TYPED_DATA_BYTES, decodeEip712 } from './eip712';
export { MAX_TRANSACTION_BYTES, decodeEthereumTransaction } from './transaction';
export type * from './types';
