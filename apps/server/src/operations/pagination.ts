import { KmsError } from '@kmsgate/core';

/**
 * Markers are opaque to clients: base64url of the last item's sort key, prefixed by the
 * listing's name so a marker from one listing is refused by another.
 */
export function encodeMarker(listing: string, last: string): string {
  return Buffer.from(`${listing}:${last}`, 'utf8').toString('base64url');
}

export function decodeMarker(listing: string, marker: string | undefined, valid: (s: string) => boolean): string {
  if (marker === undefined) return '';
  const text = Buffer.from(marker, 'base64url').toString('utf8');
  const prefix = `${listing}:`;
  const last = text.startsWith(prefix) ? text.slice(prefix.length) : undefined;
  if (last === undefined || !valid(last) || encodeMarker(listing, last) !== marker)
    throw new KmsError('InvalidMarkerException', 'The request was rejected because the marker that specifies where pagination should next begin is not valid.');
  return last;
}

/**
 * The page size for a request. Validation accepts the model's LimitType (1-1000) for every listing;
 * where AWS documents a lower maximum (ListAliases 100, ListResourceTags 50) a larger Limit is
 * clamped to it rather than refused, which is why clients passing Limit=1000 work against AWS.
 */
export function pageSize(limit: number | undefined, defaultSize: number, maxSize: number): number {
  return Math.min(limit ?? defaultSize, maxSize);
}

/** A listing's response fields: Truncated always, NextMarker only when more follow. */
export function pageFields(listing: string, truncated: boolean, lastKey: string | undefined): { Truncated: boolean; NextMarker?: string } {
  return truncated && lastKey !== undefined ? { Truncated: true, NextMarker: encodeMarker(listing, lastKey) } : { Truncated: false };
}
