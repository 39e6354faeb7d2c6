// https://docs.yubico.com/hardware/yubihsm-2/hsm2-cmd-reference/hsm2-cmd-reset-device.html
import { Command } from '../codes';
import { type Empty, decodeEmpty, encodeEmpty } from './empty';

export const CODE = Command.RESET_DEVICE;

/**
 * Deletes every object and restores the factory-default auth key; the device then reboots, so
 * the connection may drop before the (empty) response arrives.
 */
export type Request = Empty;
export type Response = Empty;

export const encodeRequest = encodeEmpty;
export const decodeRequest = decodeEmpty;
export const encodeResponse = encodeEmpty;
export const decodeResponse = decodeEmpty;
