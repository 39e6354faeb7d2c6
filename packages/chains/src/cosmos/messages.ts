import { MsgExec } from 'cosmjs-types/cosmos/authz/v1beta1/tx';
import { MsgMultiSend, MsgSend } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import { MsgExecuteContract } from 'cosmjs-types/cosmwasm/wasm/v1/tx';
import type { Any } from 'cosmjs-types/google/protobuf/any';
import { MsgTransfer } from 'cosmjs-types/ibc/applications/transfer/v1/tx';
import { fail } from '../errors';
import { checkCoin, checkCoins, contractMethod } from './coins';
import { decodeCanonical, parseJsonBytes } from './proto';
import type { CosmosMessage } from './types';

/** How deep authz MsgExec may nest (MsgExec in MsgExec in …) before the message is refused. */
export const MAX_EXEC_DEPTH = 4;

/** Summarises one protobuf message (an Any from TxBody.messages or MsgExec.msgs); recursive through MsgExec. */
export function summariseAny(any: Any, depth = 0): CosmosMessage {
  const { typeUrl, value } = any;
  switch (typeUrl) {
    case MsgSend.typeUrl: {
      const m = decodeCanonical(MsgSend, value, typeUrl);
      return { kind: 'send', typeUrl, from: m.fromAddress, to: m.toAddress, amount: checkCoins(m.amount) };
    }
    case MsgMultiSend.typeUrl: {
      const m = decodeCanonical(MsgMultiSend, value, typeUrl);
      const io = (x: { address: string; coins: { denom: string; amount: string }[] }) => ({ address: x.address, coins: checkCoins(x.coins) });
      return { kind: 'multi-send', typeUrl, inputs: m.inputs.map(io), outputs: m.outputs.map(io) };
    }
    case MsgExecuteContract.typeUrl: {
      const m = decodeCanonical(MsgExecuteContract, value, typeUrl);
      const msg = parseJsonBytes(m.msg, `${typeUrl} msg`);
      return {
        kind: 'execute-contract',
        typeUrl,
        sender: m.sender,
        contract: m.contract,
        funds: checkCoins(m.funds),
        msg,
        method: contractMethod(msg),
      };
    }
    case MsgTransfer.typeUrl: {
      const m = decodeCanonical(MsgTransfer, value, typeUrl);
      if (m.token === undefined) fail('COSMOS_MALFORMED', `${typeUrl} has no token`);
      return {
        kind: 'ibc-transfer',
        typeUrl,
        sender: m.sender,
        receiver: m.receiver,
        token: checkCoin(m.token.denom, m.token.amount),
        sourcePort: m.sourcePort,
        sourceChannel: m.sourceChannel,
      };
    }
    case MsgExec.typeUrl: {
      if (depth >= MAX_EXEC_DEPTH) fail('COSMOS_NESTING_TOO_DEEP', `MsgExec nested more than ${MAX_EXEC_DEPTH} deep`);
      const m = decodeCanonical(MsgExec, value, typeUrl);
      return { kind: 'exec', typeUrl, grantee: m.grantee, messages: m.msgs.map((inner) => summariseAny(inner, depth + 1)) };
    }
    default:
      return { kind: 'unknown', typeUrl };
  }
}
