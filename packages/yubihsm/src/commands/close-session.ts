// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-close-session.html
import { Command } from '../codes';
import { type Empty, decodeEmpty, encodeEmpty } from './empty';

export const CODE = Command.CLOSE_SESSION;

/** Sent inside the session it closes; frees the device's session slot. */
export type Request = Empty;
export type Response = Empty;

export const encodeRequest = encodeEmpty;
export const decodeRequest = decodeEmpty;
export const encodeResponse = encodeEmpty;
export const decodeResponse = decodeEmpty;
