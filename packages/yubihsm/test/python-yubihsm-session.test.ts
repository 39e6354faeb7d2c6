import { Command, RESPONSE_ERROR } from '../src/codes';
import * as AuthenticateSession from '../src/commands/authenticate-session';
import * as CreateSession from '../src/commands/create-session';
import { DeviceError, DeviceErrorCode, ProtocolError } from '../src/errors';
import { Scp03Channel } from '../src/scp03/channel';
import { authKeyFromPassword } from '../src/scp03/kdf';
import { commandMac } from '../src/scp03/mac';
import { frame, parseFrame } from '../src/wire';
import { hex, loadVectors, unhex } from './helpers/vectors';

interface SessionCase {
  password: string;
  authKeyId: number;
  hostChallenge: string;
  createSessionRequest: string;
  createSessionResponse: string;
  authenticateSessionRequest?: string;
  authenticateSessionResponse?: string;
  intermediate?: { context: string; sEnc: string; sMac: string; sRmac: string; chainAfterAuthentication: string };
  failsAt?: 'card-cryptogram' | 'authenticate-session';
}

const vectors = loadVectors<SessionCase>('python-yubihsm-session');
const DEFAULT_KEY = authKeyFromPassword('password');

function createSessionResponse(v: SessionCase): CreateSession.Response {
  const { code, payload } = parseFrame(unhex(v.createSessionResponse));
  expect(code).toBe(0x83);
  return CreateSession.decodeResponse(payload);
}

describe(`SCP03 session establishment — ${vectors.source}`, () => {
  for (const v of vectors.cases) {
    describe(`${v.result}: ${v.comment}`, () => {
      it('encodes CREATE_SESSION exactly', () => {
        const req = { authKeyId: v.authKeyId, hostChallenge: unhex(v.hostChallenge) };
        expect(hex(frame(CreateSession.CODE, CreateSession.encodeRequest(req)))).toBe(v.createSessionRequest);
        const parsed = parseFrame(unhex(v.createSessionRequest));
        expect(parsed.code).toBe(Command.CREATE_SESSION);
        expect(CreateSession.decodeRequest(parsed.payload)).toEqual(req);
      });

      if (v.result === 'valid') {
        it('host side: verifies the card cryptogram and builds AUTHENTICATE_SESSION byte for byte', () => {
          const res = createSessionResponse(v);
          const host = Scp03Channel.forHost(authKeyFromPassword(v.password), res.sessionId, unhex(v.hostChallenge), res.cardChallenge, res.cardCryptogram);
          expect(host.state).toBe('none');
          expect(hex(host.authenticateSessionCommand())).toBe(v.authenticateSessionRequest);
          const ok = parseFrame(unhex(v.authenticateSessionResponse!));
          expect(ok.code).toBe(0x84);
          expect(AuthenticateSession.decodeResponse(ok.payload)).toEqual({});
          host.markAuthenticated();
          expect(host.state).toBe('authenticated');
          expect(host.messageCount).toBe(0);
        });

        it('card side: produces the published CREATE_SESSION response and accepts the published AUTHENTICATE_SESSION', () => {
          const res = createSessionResponse(v);
          const card = Scp03Channel.forCard(authKeyFromPassword(v.password), res.sessionId, unhex(v.hostChallenge), res.cardChallenge);
          const encoded = CreateSession.encodeResponse({ sessionId: res.sessionId, cardChallenge: res.cardChallenge, cardCryptogram: card.cardCryptogram });
          expect(hex(frame(0x83, encoded))).toBe(v.createSessionResponse);
          const { code, payload } = parseFrame(unhex(v.authenticateSessionRequest!));
          expect(code).toBe(AuthenticateSession.CODE);
          card.verifyAuthenticateSession(payload);
          expect(card.state).toBe('authenticated');
        });

        it('intermediate values: context, S-ENC, S-MAC, S-RMAC and the chain after authentication', () => {
          const i = v.intermediate!;
          const res = createSessionResponse(v);
          expect(hex(unhex(v.hostChallenge)) + hex(res.cardChallenge)).toBe(i.context);
          const keys = Scp03Channel.deriveSessionKeys(authKeyFromPassword(v.password), unhex(v.hostChallenge), res.cardChallenge);
          expect(hex(keys.sEnc)).toBe(i.sEnc);
          expect(hex(keys.sMac)).toBe(i.sMac);
          expect(hex(keys.sRmac)).toBe(i.sRmac);
          const req = AuthenticateSession.decodeRequest(parseFrame(unhex(v.authenticateSessionRequest!)).payload);
          const chain = commandMac(keys.sMac, new Uint8Array(16), AuthenticateSession.CODE, AuthenticateSession.encodeMacedBody(req));
          expect(hex(chain)).toBe(i.chainAfterAuthentication);
          expect(hex(req.mac)).toBe(i.chainAfterAuthentication.slice(0, 16));
        });
      } else if (v.failsAt === 'card-cryptogram') {
        it('host refuses the card cryptogram with ProtocolError(cryptogram)', () => {
          const res = createSessionResponse(v);
          let err: unknown;
          try {
            Scp03Channel.forHost(authKeyFromPassword(v.password), res.sessionId, unhex(v.hostChallenge), res.cardChallenge, res.cardCryptogram);
          } catch (e) {
            err = e;
          }
          expect(err).toBeInstanceOf(ProtocolError);
          expect((err as ProtocolError).kind).toBe('cryptogram');
        });
      } else {
        it('card answers AUTHENTICATION_FAILED and closes the channel', () => {
          const res = createSessionResponse(v);
          const card = Scp03Channel.forCard(authKeyFromPassword(v.password), res.sessionId, unhex(v.hostChallenge), res.cardChallenge);
          const { payload } = parseFrame(unhex(v.authenticateSessionRequest!));
          let err: unknown;
          try {
            card.verifyAuthenticateSession(payload);
          } catch (e) {
            err = e;
          }
          expect(err).toBeInstanceOf(DeviceError);
          expect((err as DeviceError).code).toBe(DeviceErrorCode.AUTHENTICATION_FAILED);
          expect(card.state).toBe('closed');
        });
      }
    });
  }

  it('an error answer to CREATE_SESSION is the plain 7f 00 01 frame', () => {
    expect(hex(frame(RESPONSE_ERROR, Uint8Array.of(DeviceErrorCode.OBJECT_NOT_FOUND)))).toBe('7f00010b');
    expect(DEFAULT_KEY.encKey).toHaveLength(16);
  });
});
