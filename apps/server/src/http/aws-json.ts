import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { KMS_ERRORS, KmsError } from '@kmsgate/core';

export const AWS_JSON = 'application/x-amz-json-1.1';
/** The Content-Type of answers the app writes (the charset is what Express used to add; clients ignore it). */
const AWS_JSON_UTF8 = `${AWS_JSON}; charset=utf-8`;

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

/** `headers`: more headers for this answer (Server-Timing). */
export function sendResult(res: ServerResponse, requestId: string, result: object, headers: OutgoingHttpHeaders = {}): void {
  send(res, 200, JSON.stringify(toWire(result)), { ...headers, 'x-amzn-RequestId': requestId });
}

/**
 * AWS's error shape: `__type` and `message` in the body, the type again in X-Amzn-ErrorType.
 * `contentType` is awsJson's own unless a route a browser opens (GET /attestation) asks for
 * application/json, which a browser shows instead of downloading; `headers`: more headers (Server-Timing).
 */
export function sendError(
  res: ServerResponse,
  requestId: string,
  err: KmsError,
  { contentType = AWS_JSON_UTF8, headers = {} }: { contentType?: string; headers?: OutgoingHttpHeaders } = {},
): void {
  const body: Record<string, string> = { __type: err.type };
  if (err.message || err.type !== 'UnknownOperationException') body.message = err.message;
  send(res, KMS_ERRORS[err.type].status, JSON.stringify(body), { ...headers, 'x-amzn-RequestId': requestId, 'X-Amzn-ErrorType': err.type }, contentType);
}

/** One writeHead and one end: headers set earlier with setHeader (Connection: close while shutting down) are kept. */
function send(res: ServerResponse, status: number, body: string, headers: OutgoingHttpHeaders, contentType = AWS_JSON_UTF8): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...headers, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
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
