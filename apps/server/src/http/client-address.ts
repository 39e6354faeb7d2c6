/**
 * Who a request comes from: the connection's peer address, or, when that peer is a proxy the
 * configuration trusts (`server.trustProxy`), the address it reports in X-Forwarded-For. Deny by
 * default: with no trusted proxy the header is ignored, so a client cannot choose the address its
 * per-source rate limit, its aggregated refusals and the access log are kept under.
 *
 * The header is read from the right, the way each proxy appends to it: addresses of trusted
 * proxies are skipped, and the first one that is not trusted is the client. Entries to its left
 * were written by that client and are never believed. An entry that is not an IP address ends the
 * walk at the last address known, the hop that reported it.
 */
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

export type ClientAddress = (req: IncomingMessage) => string;

/** What a trustProxy entry must look like: an IPv4 or IPv6 address, optionally /prefix. */
export function trustProxyEntryProblem(entry: string): string | undefined {
  const [address, prefix, more] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || more !== undefined) return `${JSON.stringify(entry)} is not an IP address or CIDR (e.g. 127.0.0.1, 10.0.0.0/8, ::1)`;
  if (prefix === undefined) return undefined;
  const bits = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) return `${JSON.stringify(entry)}: the prefix must be 0-${bits}`;
  return undefined;
}

export function clientAddressResolver(trustProxy: readonly string[]): ClientAddress {
  const peer = (req: IncomingMessage) => req.socket.remoteAddress ?? 'unknown';
  // The common case costs what it did before there was a setting: the peer address, nothing parsed.
  if (trustProxy.length === 0) return peer;
  const trusted = new BlockList();
  for (const entry of trustProxy) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const type = isIP(address) === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) trusted.addAddress(address, type);
    else trusted.addSubnet(address, Number(prefix), type);
  }
  const isTrusted = (address: string) => {
    const family = isIP(address);
    return family !== 0 && trusted.check(address, family === 4 ? 'ipv4' : 'ipv6');
  };
  return (req) => {
    let client = unmapped(peer(req));
    if (!isTrusted(client)) return client;
    const header = req.headers['x-forwarded-for'];
    if (header === undefined) return client;
    const hops = (Array.isArray(header) ? header.join(',') : header).split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = unmapped(hops[i]!.trim());
      if (isIP(hop) === 0) return client;
      client = hop;
      if (!isTrusted(hop)) return client;
    }
    return client;
  };
}

/** An IPv4 peer of a dual-stack socket is reported as ::ffff:a.b.c.d; configurations name it a.b.c.d. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
