// LIST_OBJECTS. Needs no capability; lists only objects that share a domain with the session.
import { ListObjects } from '@kmsgate/yubihsm';
import { isVisible } from '../access';
import type { SessionContext } from '../handler';
import type { StoredObject } from '../object-store';

export function listObjects(ctx: SessionContext, payload: Uint8Array): Uint8Array {
  const filter = ListObjects.decodeRequest(payload);
  const objects = ctx.device.store
    .all()
    .filter((o) => isVisible(ctx.session.authority, o) && matches(o, filter))
    .map((o) => ({ id: o.id, type: o.type, sequence: o.sequence }));
  return ListObjects.encodeResponse({ objects });
}

/** Domains and capabilities match on any shared bit (python-yubihsm list_objects docs); the rest exactly. */
function matches(o: StoredObject, f: ListObjects.Request): boolean {
  return (
    (f.id === undefined || o.id === f.id) &&
    (f.type === undefined || o.type === f.type) &&
    (f.domains === undefined || (o.domains & f.domains) !== 0) &&
    (f.capabilities === undefined || (o.capabilities & f.capabilities) !== 0n) &&
    (f.algorithm === undefined || o.algorithm === f.algorithm) &&
    (f.label === undefined || sameLabel(o.label, f.label))
  );
}

/** The filter arrives with its zero padding stripped; the stored label is the padded 40 bytes. */
function sameLabel(stored: Uint8Array, wanted: Uint8Array): boolean {
  let end = stored.length;
  while (end > 0 && stored[end - 1] === 0) end--;
  return end === wanted.length && wanted.every((b, i) => stored[i] === b);
}
