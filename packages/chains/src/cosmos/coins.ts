import { fail } from '../errors';
import { Totals, type AssetAmount } from '../totals';
import type { CosmosCoin, CosmosMessage } from './types';

/** cosmos-sdk types/coin.go reDnmString: a letter, then 2-127 of [a-zA-Z0-9/:._-]. */
const DENOM = /^[a-zA-Z][a-zA-Z0-9/:._-]{2,127}$/;
/** A canonical non-negative decimal integer. */
const AMOUNT = /^(0|[1-9][0-9]*)$/;
/** cosmossdk.io/math Int is at most 256 bits. */
const MAX_AMOUNT = (1n << 256n) - 1n;

export function checkCoin(denom: unknown, amount: unknown): CosmosCoin {
  if (typeof denom !== 'string' || !DENOM.test(denom)) fail('COSMOS_BAD_COIN', `invalid denom ${JSON.stringify(denom)?.slice(0, 140)}`);
  if (typeof amount !== 'string' || !AMOUNT.test(amount) || amount.length > 78 || BigInt(amount) > MAX_AMOUNT) {
    fail('COSMOS_BAD_COIN', `invalid amount ${JSON.stringify(amount)?.slice(0, 100)} for ${denom}`);
  }
  return { denom, amount };
}

export function checkCoins(coins: readonly { denom: unknown; amount: unknown }[]): CosmosCoin[] {
  return coins.map((c) => checkCoin(c.denom, c.amount));
}

/** Coins leaving through `messages` and everything nested in them, summed by denom. */
export function totalsOf(messages: readonly CosmosMessage[]): AssetAmount[] {
  const totals = new Totals();
  const addAll = (coins: readonly CosmosCoin[]) => coins.forEach((c) => totals.add(c.denom, BigInt(c.amount)));
  const visit = (m: CosmosMessage): void => {
    switch (m.kind) {
      case 'send':
        addAll(m.amount);
        break;
      case 'multi-send':
        m.inputs.forEach((i) => addAll(i.coins));
        break;
      case 'execute-contract':
        addAll(m.funds);
        break;
      case 'ibc-transfer':
        addAll([m.token]);
        break;
      case 'exec':
        m.messages.forEach(visit);
        break;
      case 'unknown':
        break;
    }
  };
  messages.forEach(visit);
  return totals.list();
}

/** Type of every message, nested ones included, depth-first. */
export function messageTypesOf(messages: readonly CosmosMessage[]): string[] {
  const out: string[] = [];
  const visit = (m: CosmosMessage): void => {
    out.push(m.typeUrl ?? `amino:${m.aminoType ?? ''}`);
    if (m.kind === 'exec') m.messages.forEach(visit);
  };
  messages.forEach(visit);
  return out;
}

/** The CosmWasm execute variant: the only key of a one-key object, else null. */
export function contractMethod(msg: unknown): string | null {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return null;
  const keys = Object.keys(msg);
  return keys.length === 1 ? keys[0]! : null;
}
