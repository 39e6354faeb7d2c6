import type { Response } from 'express';
import { KMS_ERRORS, KmsError } from '@kmsgate/core';

export const AWS_JSON = 'application/x-amz-json-1.1';

/**
 * awsJson1_1 encoding of a handler result: blobs as base64, timestamps as epoch seconds
 * (fractional), everything else as JSON. Undefined members are dropped.
 */
export function toWire(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v);
    return out;
  }
  return value;
}

export function sendResult(res: Response, requestId: string, result: object): void {
  res.status(200).set({ 'Content-Type': AWS_JSON, 'x-amzn-RequestId': requestId }).send(JSON.stringify(toWire(result)));
}

/**
 * AWS's error shape: `__type` and `message` in the body, the type again in X-Amzn-ErrorType.
 * `contentType` is awsJson's own unless a route a browser opens (GET /attestation) asks for
 * application/json, which a browser shows instead of downloading.
 */
export function sendError(res: Response, requestId: string, err: KmsError, contentType: string = AWS_JSON): void {
  const body: Record<string, string> = { __type: err.type };
  if (err.message || err.type !== 'UnknownOperationException') body.message = err.message;
  res.status(KMS_ERRORS[err.type].status)
    .set({ 'Content-Type': contentType, 'x-amzn-RequestId': requestId, 'X-Amzn-ErrorType': err.type })
    .send(JSON.stringify(body));
}

/** Parses a request body; an empty body is `{}` (what the SDKs send for no input). */
export function parseJsonBody(body: unknown): unknown {
  const bytes = body instanceof Uint8Array ? body : new Uint8Array(0);
  if (bytes.length === 0) return {};
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    throw new KmsError('SerializationException', 'The request body is not valid JSON.');
  }
}
