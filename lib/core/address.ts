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

/**
 * An address written with its port, as some proxies put it into X-Forwarded-For (Azure App
 * Service: `203.0.113.5:51234`, `[2001:db8::1]:51234`): the address alone, or undefined.
 * Counted with its port, every connection would be an address of its own.
 */
function withoutPort(ip: string): string | undefined {
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(ip);
  if (v4) return v4[1];
  const v6 = /^\[([0-9A-Fa-f:.]+(?:%[^\]]*)?)\](?::\d{1,5})?$/.exec(ip);
  return v6 ? v6[1] : undefined;
}

/** 4, 6, or 0 when `text` is no IP address; an IPv6 zone (`%eth0`) is left out. */
function ipVersion(text: string): number {
  return isIP(text.split('%')[0] as string);
}

/** `text` as an IP address, its port (if written with one) left out; undefined when it is none. */
export function ipOf(text: string): string | undefined {
  if (ipVersion(text) !== 0) return text;
  const bare = withoutPort(text);
  return bare !== undefined && ipVersion(bare) !== 0 ? bare : undefined;
}

/** The counted form of `ip`: IPv4 (also IPv4-mapped IPv6) as is, IPv6 cut to `/subnet`; `''` when there is none. */
export function addressKey(ip: string | undefined, subnet: number): string {
  if (!ip) return '';
  ip = ipOf(ip) ?? ip;
  const version = ipVersion(ip);
  if (version === 4) return ip;
  if (version !== 6) return ip;
  const g = groups(ip);
  if (!g) return ip;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  // An IPv4 client behind IPv6: mapped (::ffff:a.b.c.d, a dual-stack socket), compatible
  // (::a.b.c.d), translated (::ffff:0:a.b.c.d, SIIT), NAT64 (64:ff9b::a.b.c.d, and the
  // local-use 64:ff9b:1::a.b.c.d), 6to4 (2002:aabb:ccdd::/48) and Teredo (2001:0::/32, the
  // client's address inverted in the last 32 bits) all count as that IPv4 address, so one
  // IPv4 holder gets one bucket, and the IPv4 users behind one translator are not one /64.
  const zeros = (from: number, to: number) => g.slice(from, to).every((n) => n === 0);
  if (zeros(0, 5) && (g[5] === 0xffff || g[5] === 0)) return v4(g[6] as number, g[7] as number);
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return v4(g[6] as number, g[7] as number);
  if (g[0] === 0x64 && g[1] === 0xff9b && (g[2] === 0 || g[2] === 1) && zeros(3, 6)) return v4(g[6] as number, g[7] as number);
  if (g[0] === 0x2002) return v4(g[1] as number, g[2] as number);
  if (g[0] === 0x2001 && g[1] === 0) return v4((g[6] as number) ^ 0xffff, (g[7] as number) ^ 0xffff);
  let bits = subnet;
  const kept = g.map((n) => {
    const take = Math.max(0, Math.min(16, bits));
    bits -= 16;
    return take === 0 ? 0 : n & (0xffff << (16 - take)) & 0xffff;
  });
  return `${kept.map((n) => n.toString(16)).join(':')}/${subnet}`;
}
