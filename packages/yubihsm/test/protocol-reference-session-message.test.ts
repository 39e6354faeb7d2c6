import { DeviceError, DeviceErrorCode, type DeviceErrorName, ProtocolError, type ProtocolErrorKind } from '../src/errors';
import { CbcKey } from '../src/scp03/cbc';
import { counterIv, pad } from '../src/scp03/cipher';
import { Scp03Channel } from '../src/scp03/channel';
import { authKeyFromPassword } from '../src/scp03/kdf';
import { parseFrame } from '../src/wire';
import { hex, loadVectors, unhex } from './helpers/vectors';
import { createDecipheriv } from 'node:crypto';

interface Exchange {
  counter: number;
  innerCommand: string;
  innerCommandPadded?: string;
  outerCommand: string;
  innerResponse: string;
  innerResponsePadded?: string;
  outerResponse: string;
}

interface MessageCase {
  password: string;
  sessionId: number;
  hostChallenge: string;
  cardChallenge: string;
  exchanges: Exchange[];
  failsAt?: 'host-unwrap' | 'card-unwrap';
  errorKind?: ProtocolErrorKind;
  deviceError?: DeviceErrorName;
}

const vectors = loadVectors<MessageCase>('protocol-reference-session-message');

/** Both ends of the §9.2 session, authenticated, as the published exchange leaves them. */
function openPair(v: MessageCase): { host: Scp03Channel; card: Scp03Channel } {
  const key = authKeyFromPassword(v.password);
  const card = Scp03Channel.forCard(key, v.sessionId, unhex(v.hostChallenge), unhex(v.cardChallenge));
  const host = Scp03Channel.forHost(key, v.sessionId, unhex(v.hostChallenge), unhex(v.cardChallenge), card.cardCryptogram);
  card.verifyAuthenticateSession(parseFrame(host.authenticateSessionCommand()).payload);
  host.markAuthenticated();
  return { host, card };
}

function decryptRaw(sEnc: Uint8Array, counter: number, ciphertext: Uint8Array): string {
  const d = createDecipheriv('aes-128-cbc', sEnc, counterIv(new CbcKey(sEnc), counter));
  d.setAutoPadding(false);
  return hex(new Uint8Array(d.update(ciphertext)));
}

describe(`SESSION_MESSAGE exchanges — ${vectors.source}`, () => {
  for (const v of vectors.cases) {
    describe(`${v.result}: ${v.comment}`, () => {
      if (v.result === 'valid') {
        it('host side: wraps each command and unwraps each response byte for byte', () => {
          const { host } = openPair(v);
          for (const x of v.exchanges) {
            expect(host.messageCount).toBe(x.counter - 1);
            expect(hex(host.wrap(unhex(x.innerCommand)))).toBe(x.outerCommand);
            expect(hex(host.unwrap(unhex(x.outerResponse)))).toBe(x.innerResponse);
          }
          expect(host.messageCount).toBe(v.exchanges.length);
        });

        it('card side: unwraps each command and wraps each response byte for byte', () => {
          const { card } = openPair(v);
          for (const x of v.exchanges) {
            const { code, payload } = parseFrame(unhex(x.outerCommand));
            expect(code).toBe(0x05);
            expect(hex(card.unwrapCommand(payload))).toBe(x.innerCommand);
            expect(hex(card.wrapResponse(unhex(x.innerResponse)))).toBe(x.outerResponse);
          }
        });

        it('padded plaintexts match (ISO 7816-4 padding, IV from the counter)', () => {
          const keys = Scp03Channel.deriveSessionKeys(authKeyFromPassword(v.password), unhex(v.hostChallenge), unhex(v.cardChallenge));
          for (const x of v.exchanges) {
            if (x.innerCommandPadded) {
              expect(hex(pad(unhex(x.innerCommand)))).toBe(x.innerCommandPadded);
              const cmd = parseFrame(unhex(x.outerCommand)).payload;
              expect(decryptRaw(keys.sEnc, x.counter, cmd.subarray(1, cmd.length - 8))).toBe(x.innerCommandPadded);
            }
            if (x.innerResponsePadded) {
              const res = parseFrame(unhex(x.outerResponse)).payload;
              expect(decryptRaw(keys.sEnc, x.counter, res.subarray(1, res.length - 8))).toBe(x.innerResponsePadded);
            }
          }
        });
      } else if (v.failsAt === 'host-unwrap') {
        it(`host rejects the response with ProtocolError(${v.errorKind}) and closes the channel`, () => {
          const { host } = openPair(v);
          const x = v.exchanges[0]!;
          expect(hex(host.wrap(unhex(x.innerCommand)))).toBe(x.outerCommand);
          let err: unknown;
          try {
            host.unwrap(unhex(x.outerResponse));
          } catch (e) {
            err = e;
          }
          expect(err).toBeInstanceOf(ProtocolError);
          expect((err as ProtocolError).kind).toBe(v.errorKind);
          expect(host.state).toBe('closed');
          expect(() => host.wrap(unhex(x.innerCommand))).toThrow(ProtocolError);
        });
      } else {
        it(`card rejects the command with DeviceError ${v.deviceError} and keeps its state`, () => {
          const { card } = openPair(v);
          const x = v.exchanges[0]!;
          let err: unknown;
          try {
            card.unwrapCommand(parseFrame(unhex(x.outerCommand)).payload);
          } catch (e) {
            err = e;
          }
          expect(err).toBeInstanceOf(DeviceError);
          expect((err as DeviceError).code).toBe(DeviceErrorCode[v.deviceError!]);
          // The genuine first command still verifies: a rejected message did not move chain or counter.
          const good = vectors.cases[0]!.exchanges[0]!;
          expect(hex(card.unwrapCommand(parseFrame(unhex(good.outerCommand)).payload))).toBe(good.innerCommand);
        });
      }
    });
  }
});
