import { randomUUID } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { KmsError, isKmsError, parseInput, type StructureShape } from '@kmsgate/core';
import { MAX_NONCE_BYTES, TeeBackend, fromHex } from '@kmsgate/tee';
import type { Logger } from '../log';
import type { BackendRegistry } from '../backends';
import { sendError } from './aws-json';

/**
 * The open (unauthenticated) TEE endpoints. Both are read-only facts a verifier needs without a
 * credential: GET /attestation?nonce=<hex> has the TA sign the caller's nonce with the device
 * attestation key, GET /RollbackCounter reads the TA's monotonic counter. `backend=<id>` picks a
 * TEE backend when more than one is configured; the default is the first.
 */
const BACKEND_PARAM = { type: 'string', min: 1, max: 64 } as const;
const ATTESTATION_QUERY = {
  type: 'structure',
  members: {
    // Hex pairs, 1-64 bytes. Not echoed in errors: it is caller-controlled and up to a URL long.
    nonce: {
      type: 'string',
      required: true,
      min: 2,
      max: MAX_NONCE_BYTES * 2,
      pattern: /^(?:[0-9a-fA-F]{2})+$/,
      patternText: '^([0-9a-fA-F]{2})+$',
      sensitive: true,
    },
    backend: BACKEND_PARAM,
  },
} as const satisfies StructureShape;
const COUNTER_QUERY = { type: 'structure', members: { backend: BACKEND_PARAM } } as const satisfies StructureShape;

export function teeRoutes(registry: BackendRegistry, logger: Logger): Router {
  const router = Router();

  const pick = (id: string | undefined): TeeBackend => {
    const tees = registry.all().filter((b): b is TeeBackend => b instanceof TeeBackend);
    const backend = id === undefined ? tees[0] : tees.find((b) => b.id === id);
    if (!backend) throw new KmsError('NotFoundException', id === undefined ? 'No TEE backend is configured.' : `No TEE backend has id ${id}.`);
    return backend;
  };

  const handle = (work: (req: Request) => Promise<object>) => async (req: Request, res: Response) => {
    const requestId = randomUUID();
    try {
      const body = await work(req);
      res.status(200).set({ 'Cache-Control': 'no-store', 'x-amzn-RequestId': requestId }).json(body);
    } catch (e) {
      let err: KmsError;
      if (isKmsError(e)) {
        err = e;
        if (e.status >= 500) logger.error('backend fault', { requestId, path: req.path, error: e.type, detail: e.message, cause: String(e.cause ?? '') });
      } else {
        logger.error('internal error', { requestId, path: req.path, detail: e instanceof Error ? (e.stack ?? e.message) : String(e) });
        err = new KmsError('KMSInternalException', 'An internal error occurred. The request id is ' + requestId + '.');
      }
      // Opened in a browser as often as by a script: JSON a browser displays, not a download.
      sendError(res, requestId, err, { contentType: 'application/json; charset=utf-8' });
    }
  };

  router.get(
    '/attestation',
    handle(async (req) => {
      const query = parseInput(ATTESTATION_QUERY, { ...req.query });
      const backend = pick(query.backend);
      const att = await backend.attestation(fromHex(query.nonce));
      return {
        backend: att.backendId,
        mode: att.mode,
        taUuid: att.taUuid,
        buildHash: att.buildHash,
        algorithm: att.algorithm,
        nonce: att.nonce,
        measurement: att.measurement,
        signature: att.signature,
        publicKey: att.publicKey,
      };
    }),
  );

  router.get(
    '/RollbackCounter',
    handle(async (req) => {
      const query = parseInput(COUNTER_QUERY, { ...req.query });
      const backend = pick(query.backend);
      return { backend: backend.id, counter: await backend.rollbackCounter() };
    }),
  );

  return router;
}
