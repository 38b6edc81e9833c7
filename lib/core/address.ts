/**
 * The address a per-address limit counts: an IPv4 address as it is, an IPv6 address by its
 * network prefix (a /64 by default): one subscriber gets a whole /64 and can rotate through
 * it at will, so counting single IPv6 addresses would count nothing.
 */
import { isIP } from 'node:net';

/** The eight 16-bit groups of an IPv6 address, `::` expanded and an embedded IPv4 tail converted. */
function groups(address: string): number[] | undefined {
  let text = address.split('%')[0] as string;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = (v4[1] as string).split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -(v4[1] as string).length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? 0 : 8 - left.length - right.length;
  const parts = [...left, ...Array(Math.max(0, fill)).fill('0'), ...right].map((g) => parseInt(g, 16));
  return parts.length === 8 && parts.every((n) => Number.isInteger(n) && n >= 0 && n <= 0xffff) ? parts : undefined;
}

/** The counted form of `ip`: IPv4 (also IPv4-mapped IPv6) as is, IPv6 cut to `/subnet`; `''` when there is none. */
export function addressKey(ip: string | undefined, subnet: number): string {
  if (!ip) return '';
  const version = isIP(ip.split('%')[0] as string);
  if (version === 4) return ip;
  if (version !== 6) return ip;
  const g = groups(ip);
  if (!g) return ip;
  // ::ffff:a.b.c.d is an IPv4 client seen through a dual-stack socket.
  if (g.slice(0, 5).every((n) => n === 0) && g[5] === 0xffff)
    return `${(g[6] as number) >> 8}.${(g[6] as number) & 255}.${(g[7] as number) >> 8}.${(g[7] as number) & 255}`;
  let bits = subnet;
  const kept = g.map((n) => {
    const take = Math.max(0, Math.min(16, bits));
    bits -= 16;
    return take === 0 ? 0 : n & (0xffff << (16 - take)) & 0xffff;
  });
  return `${kept.map((n) => n.toString(16)).join(':')}/${subnet}`;
}
