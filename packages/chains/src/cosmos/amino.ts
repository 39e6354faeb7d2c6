import { type StdSignDoc, serializeSignDoc } from '@cosmjs/amino';
import { checkBytes, equalBytes, jsonDepth, utf8OrUndefined } from '../bytes';
import { fail, guard } from '../errors';
import { checkCoin, contractMethod, messageTypesOf, totalsOf } from './coins';
import { MAX_SIGN_DOC_BYTES } from './direct';
import { MAX_EXEC_DEPTH } from './messages';
import type { CosmosCoin, CosmosMessage, CosmosSummary } from './types';

type Json = Record<string, unknown>;

/** The keys of a legacy amino StdSignDoc (cosmos-sdk x/auth/migrations/legacytx StdSignDoc). */
const SIGN_DOC_KEYS = new Set(['account_number', 'chain_id', 'fee', 'memo', 'msgs', 'sequence', 'timeout_height']);
const FEE_KEYS = new Set(['amount', 'gas', 'payer', 'granter']);
const UINT64 = /^(0|[1-9][0-9]{0,19})$/;
/** Deeper JSON than any real sign doc (MsgExec levels and contract messages included) is refused. */
export const MAX_JSON_DEPTH = 64;
const MAX_UINT64 = (1n << 64n) - 1n;

/** Amino type names of the messages we summarise, and the protobuf type URL each stands for. */
const AMINO_TYPES = {
  'cosmos-sdk/MsgSend': '/cosmos.bank.v1beta1.MsgSend',
  'cosmos-sdk/MsgMultiSend': '/cosmos.bank.v1beta1.MsgMultiSend',
  'wasm/MsgExecuteContract': '/cosmwasm.wasm.v1.MsgExecuteContract',
  'cosmos-sdk/MsgTransfer': '/ibc.applications.transfer.v1.MsgTransfer',
  'cosmos-sdk/MsgExec': '/cosmos.authz.v1beta1.MsgExec',
} as const;

/**
 * Decodes a SIGN_MODE_LEGACY_AMINO_JSON sign doc: the canonical JSON of a StdSignDoc (keys sorted,
 * no whitespace, `<>&` escaped) that the key signs. The bytes must be exactly what cosmjs's
 * `serializeSignDoc` produces for the parsed document, so there is one reading of them.
 */
export function decodeCosmosAminoSignDoc(bytes: Uint8Array): CosmosSummary {
  checkBytes('bytes', bytes, MAX_SIGN_DOC_BYTES);
  const text = utf8OrUndefined(bytes);
  if (text === undefined) fail('COSMOS_AMINO_MALFORMED', 'sign doc is not UTF-8');
  const parsed = guard('COSMOS_AMINO_MALFORMED', 'sign doc is not JSON', () => JSON.parse(text) as unknown);
  if (jsonDepth(parsed) > MAX_JSON_DEPTH) fail('COSMOS_AMINO_MALFORMED', `sign doc nests deeper than ${MAX_JSON_DEPTH}`);
  const doc = object(parsed, 'sign doc');
  for (const key of Object.keys(doc)) {
    if (!SIGN_DOC_KEYS.has(key)) fail('COSMOS_AMINO_MALFORMED', `sign doc has unknown key ${JSON.stringify(key).slice(0, 80)}`);
  }
  const canonical = guard('COSMOS_AMINO_NON_CANONICAL', 'sign doc does not serialise', () => serializeSignDoc(doc as unknown as StdSignDoc));
  if (!equalBytes(canonical, bytes)) fail('COSMOS_AMINO_NON_CANONICAL', 'sign doc is not canonical amino JSON');

  const fee = object(doc.fee, 'fee');
  for (const key of Object.keys(fee)) {
    if (!FEE_KEYS.has(key)) fail('COSMOS_AMINO_MALFORMED', `fee has unknown key ${JSON.stringify(key).slice(0, 80)}`);
  }
  const messages = array(doc.msgs, 'msgs').map((m, i) => summariseAmino(m, `msgs[${i}]`, 0));
  return {
    chain: 'cosmos',
    signMode: 'amino-json',
    chainId: string(doc, 'chain_id', 'sign doc'),
    accountNumber: uint64(doc, 'account_number'),
    sequence: uint64(doc, 'sequence'),
    signers: [],
    fee: {
      amount: coins(fee, 'amount', 'fee'),
      gasLimit: uint64(fee, 'gas'),
      payer: optionalString(fee, 'payer', 'fee'),
      granter: optionalString(fee, 'granter', 'fee'),
    },
    tip: null,
    memo: string(doc, 'memo', 'sign doc'),
    timeoutHeight: doc.timeout_height === undefined ? '0' : uint64(doc, 'timeout_height'),
    extensionOptions: [],
    messages,
    messageTypes: messageTypesOf(messages),
    totals: totalsOf(messages),
  };
}

function summariseAmino(raw: unknown, what: string, depth: number): CosmosMessage {
  const msg = object(raw, what);
  if (Object.keys(msg).some((k) => k !== 'type' && k !== 'value')) fail('COSMOS_AMINO_MALFORMED', `${what} has keys other than type and value`);
  const aminoType = string(msg, 'type', what);
  const value = object(msg.value, `${what}.value`);
  const at = `${what} (${aminoType})`;
  if (!Object.prototype.hasOwnProperty.call(AMINO_TYPES, aminoType)) return { kind: 'unknown', typeUrl: null, aminoType };
  const typeUrl = AMINO_TYPES[aminoType as keyof typeof AMINO_TYPES];
  const base = { typeUrl, aminoType };
  switch (typeUrl) {
    case '/cosmos.bank.v1beta1.MsgSend':
      return { ...base, kind: 'send', from: string(value, 'from_address', at), to: string(value, 'to_address', at), amount: coins(value, 'amount', at) };
    case '/cosmos.bank.v1beta1.MsgMultiSend': {
      const io = (key: string) =>
        array(value[key] ?? [], `${at}.${key}`).map((x, i) => {
          const o = object(x, `${at}.${key}[${i}]`);
          return { address: string(o, 'address', at), coins: coins(o, 'coins', at) };
        });
      return { ...base, kind: 'multi-send', inputs: io('inputs'), outputs: io('outputs') };
    }
    case '/cosmwasm.wasm.v1.MsgExecuteContract': {
      if (!('msg' in value)) fail('COSMOS_AMINO_MALFORMED', `${at} has no msg`);
      return {
        ...base,
        kind: 'execute-contract',
        sender: string(value, 'sender', at),
        contract: string(value, 'contract', at),
        funds: coins(value, 'funds', at),
        msg: value.msg,
        method: contractMethod(value.msg),
      };
    }
    case '/ibc.applications.transfer.v1.MsgTransfer': {
      const token = object(value.token, `${at}.token`);
      return {
        ...base,
        kind: 'ibc-transfer',
        sender: string(value, 'sender', at),
        receiver: string(value, 'receiver', at),
        token: checkCoin(token.denom, token.amount),
        sourcePort: string(value, 'source_port', at),
        sourceChannel: string(value, 'source_channel', at),
      };
    }
    case '/cosmos.authz.v1beta1.MsgExec': {
      if (depth >= MAX_EXEC_DEPTH) fail('COSMOS_NESTING_TOO_DEEP', `MsgExec nested more than ${MAX_EXEC_DEPTH} deep`);
      const inner = array(value.msgs ?? [], `${at}.msgs`).map((m, i) => summariseAmino(m, `${at}.msgs[${i}]`, depth + 1));
      return { ...base, kind: 'exec', grantee: string(value, 'grantee', at), messages: inner };
    }
  }
}

function object(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('COSMOS_AMINO_MALFORMED', `${what} must be an object`);
  return value as Json;
}

function array(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) fail('COSMOS_AMINO_MALFORMED', `${what} must be an array`);
  return value;
}

function string(o: Json, key: string, what: string): string {
  const v = o[key];
  if (typeof v !== 'string') fail('COSMOS_AMINO_MALFORMED', `${what}.${key} must be a string`);
  return v;
}

function optionalString(o: Json, key: string, what: string): string {
  return o[key] === undefined ? '' : string(o, key, what);
}

function uint64(o: Json, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || !UINT64.test(v) || BigInt(v) > MAX_UINT64) {
    fail('COSMOS_AMINO_MALFORMED', `${key} must be a decimal uint64 string`);
  }
  return v;
}

/** A coin list; amino omits empty lists, so a missing key is []. Coins have exactly denom and amount. */
function coins(o: Json, key: string, what: string): CosmosCoin[] {
  return array(o[key] ?? [], `${what}.${key}`).map((c, i) => {
    const coin = object(c, `${what}.${key}[${i}]`);
    if (Object.keys(coin).some((k) => k !== 'denom' && k !== 'amount')) fail('COSMOS_AMINO_MALFORMED', `${what}.${key}[${i}] has extra keys`);
    return checkCoin(coin.denom, coin.amount);
  });
}
