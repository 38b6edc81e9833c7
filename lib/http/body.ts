/**
 * The one middleware in front of each route: the session check, the browser-origin check
 * (login CSRF, ./origin), the `trust proxy` and secure-cookie warnings and the body parsers
 * (JSON or urlencoded, 8 kB), as a single function so that a request crosses one router layer
 * instead of four.
 */
import { BlockList, isIPv6 } from 'node:net';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { fail, shown } from '../errors';
import { logEvent } from '../core/log';
import type { Logger } from '../types';
import { allowOrigin } from './cors';
import { fromOtherSite } from './origin';
import { answerError } from './respond';

/** Small on purpose: no valid request comes near it. */
const BODY_LIMIT = '8kb';

/** What every route's body middleware shares: its warnings are logged once per router, not once per route. */
export interface BodyOptions {
  logger: Logger;
  /**
   * Takes requests that a browser marks as coming from another site's page. Off for the session
   * routes (login CSRF) and the token grant (its wrong codes count against the visitor's
   * address: any page could otherwise spend them); listed origins pass either way.
   */
  allowCrossSite: boolean;
  allowedOrigins: ReadonlySet<string>;
}

/** One route's needs. */
export interface RouteBody {
  /** The route works on the browser's session: it refuses other sites' pages, and needs express-session unless `sessionOptional`. */
  session: boolean;
  /**
   * The route works without express-session: the start, with a store that keeps nothing in the
   * session, so that a backend using only the token grant (Auth0's mobile flow) needs none.
   */
  sessionOptional?: boolean;
  /** The OAuth token endpoint: a body it cannot read is answered as OAuth's `invalid_request`. */
  oauth?: boolean;
}

/**
 * Whether the request is HTTPS to Express, or to an express-session with `proxy: true` (which
 * reads X-Forwarded-Proto itself, whatever `trust proxy` says): a warning only where neither is.
 */
function seenAsHttps(req: Request): boolean {
  if (req.secure) return true;
  const forwarded = req.headers['x-forwarded-proto'];
  return typeof forwarded === 'string' && forwarded.split(',', 1)[0]?.trim().toLowerCase() === 'https';
}

/** Property names that reach an object's prototype; refused in any body, JSON or form. */
const PROTO = /(^|\[)(__proto__|constructor|prototype)(\]|\[|$)/;

/** Where a proxy in front of the app usually sits: loopback and private networks. */
const PROXY_NETWORKS = new BlockList();
for (const [net, prefix] of [
  ['127.0.0.0', 8],
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['100.64.0.0', 10],
] as const)
  PROXY_NETWORKS.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
] as const)
  PROXY_NETWORKS.addSubnet(net, prefix, 'ipv6');

/**
 * Whether the request came through a proxy Express does not trust: an X-Forwarded-For from a
 * private or loopback peer that `trust proxy` leaves out. Every user behind that proxy then has
 * the proxy's req.ip, and shares its per-address limits (50 starts an hour for all of them).
 */
function untrustedProxy(req: Request): string | undefined {
  const peer = req.socket?.remoteAddress;
  if (!peer) return undefined;
  const trusts = req.app?.get('trust proxy fn') as ((addr: string, i: number) => boolean) | undefined;
  if (typeof trusts === 'function' && trusts(peer, 0)) return undefined;
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(peer)?.[1];
  const inside = v4 ? PROXY_NETWORKS.check(v4, 'ipv4') : PROXY_NETWORKS.check(peer, isIPv6(peer) ? 'ipv6' : 'ipv4');
  return inside ? peer : undefined;
}

/** Distinct X-Forwarded-For values from one public peer that make it a proxy for many clients. */
const FORWARDED_CLIENTS = 20;
/** Public peers followed at once (each with at most FORWARDED_CLIENTS values); past this the memory starts over. */
const FORWARDERS = 32;

/**
 * A peer on a public address that `trust proxy` leaves out, once it has forwarded for
 * FORWARDED_CLIENTS different clients: a CDN or load balancer the app forgot to trust, whose
 * users then all share its addresses' limits (a few edge addresses for everyone: 429s for real
 * users), or a client forging the header. `seen` holds what each peer forwarded so far.
 */
function manyForwarded(req: Request, seen: Map<string, Set<string>>): string | undefined {
  const peer = req.socket?.remoteAddress;
  if (!peer) return undefined;
  let values = seen.get(peer);
  if (!values) {
    if (seen.size >= FORWARDERS) seen.clear();
    values = new Set();
    seen.set(peer, values);
  }
  values.add(String(req.headers['x-forwarded-for']).slice(0, 64));
  return values.size >= FORWARDED_CLIENTS ? peer : undefined;
}

/** The body middleware of each route, made by the function this returns; they share parsers and warnings. */
export function bodyMiddlewares(options: BodyOptions): (route: RouteBody) => RequestHandler {
  const json = express.json({ limit: BODY_LIMIT, strict: true });
  // `depth` is a body-parser option that Express 4's types do not list yet.
  // qs drops `__proto__[x]` keys silently, so the raw form is checked before it parses it:
  // a form with a prototype key is refused, exactly as a JSON body with one is.
  const form = express.urlencoded({
    extended: true,
    limit: BODY_LIMIT,
    parameterLimit: 20,
    depth: 2,
    verify: refuseProtoKeys,
  } as Parameters<typeof express.urlencoded>[0]);
  let warnedTrustProxy = false;
  let warnedUntrustedProxy = false;
  let checkedTrusted = false;
  const forwarders = new Map<string, Set<string>>();
  let warnedInsecureCookie = false;
  const { logger } = options;
  return (route: RouteBody) =>
    function passwordlessBody(req: Request, res: Response, next: NextFunction): void {
      // First, so that every answer (errors included) reaches the listed page that asked.
      // Always (Vary: Origin once origins are listed, whatever this request's Origin).
      allowOrigin(req, res, options.allowedOrigins);
      if (route.session && !req.session && !route.sessionOptional) return answerError(logger, res, fail('noSession'));
      if (!options.allowCrossSite && fromOtherSite(req, options.allowedOrigins))
        return answerError(logger, res, fail('crossSite'), route.oauth);
      // `trust proxy: true` lets any client pick its req.ip, which defeats the per-address limits.
      if (!warnedTrustProxy && req.app?.get('trust proxy') === true) {
        warnedTrustProxy = true;
        logEvent(logger, 'config_warning', {
          message:
            "app.set('trust proxy', true) lets clients choose req.ip through X-Forwarded-For; set a hop count or subnet list instead.",
        });
      }
      // With `trust proxy` off, every forwarded request is looked at until one warns (a header
      // lookup each); with it set, only the first (a proxy it leaves out, such as Docker's bridge).
      if (!warnedUntrustedProxy && req.headers['x-forwarded-for'] !== undefined && !(checkedTrusted && req.app?.get('trust proxy'))) {
        checkedTrusted = true;
        const proxy = untrustedProxy(req);
        if (proxy) {
          warnedUntrustedProxy = true;
          logEvent(logger, 'config_warning', {
            message: `requests from ${proxy}, a private address, carry X-Forwarded-For but \`trust proxy\` does not trust it: if that is a proxy in front of the app, req.ip is the proxy's and every user behind it shares one address's limits (startsPerIpPerHour, failed verifies). Then set app.set('trust proxy', 1) for one proxy, or its addresses or subnets. If no proxy is in front, leave it: trusting the header would let clients choose their address.`,
          });
        } else if (!req.app?.get('trust proxy')) {
          const forwarder = manyForwarded(req, forwarders);
          if (forwarder) {
            warnedUntrustedProxy = true;
            forwarders.clear();
            logEvent(logger, 'config_warning', {
              // The address before a colon: the log's number masking leaves an address so written readable.
              message: `requests from ${forwarder}: a public address that forwarded for ${FORWARDED_CLIENTS} different clients (X-Forwarded-For) and \`trust proxy\` is off: if it is a CDN or load balancer in front of the app, its users all share its addresses' limits (startsPerIpPerHour, failed verifies), and real users get 429s. Then trust it: app.set('trust proxy', …) with its published address ranges, or the number of proxies in front. If it is not yours, a client is forging the header: leave the setting as it is.`,
            });
          }
        }
      }
      // express-session sets no cookie when `cookie.secure` is on (any truthy value, the string
      // 'false' too) and the request is not HTTPS: the answers still say 200, but no login (nor
      // sessionStore's code binding) reaches the browser. Read only when the cookie asks for it.
      if (!warnedInsecureCookie && route.session && req.session?.cookie?.secure && !seenAsHttps(req)) {
        warnedInsecureCookie = true;
        logEvent(logger, 'config_warning', {
          message:
            "express-session's cookie.secure is on but this request reached Express over plain HTTP, so the browser gets no session cookie and logins do not stick: serve over HTTPS, and behind a TLS proxy set app.set('trust proxy', <hops or subnets>) so Express reads X-Forwarded-Proto (or use cookie.secure: 'auto'; a string such as 'false' counts as on).",
        });
      }
      const done = (err?: unknown) => (err ? answerError(logger, res, err, route.oauth) : next());
      json(req, res, (err?: unknown) => {
        if (err) return done(err);
        form(req, res, done);
      });
    };
}

function refuseProtoKeys(_req: Request, _res: Response, raw: Buffer): void {
  for (const key of new URLSearchParams(raw.toString('utf8')).keys()) {
    const match = PROTO.exec(key);
    // Built with a variable so the error is a fresh object (body-parser annotates it).
    if (match) throw fail('propertyNotAllowed', { name: `"${shown(match[2] as string, 40)}"`, allowed: 'the parameters of this route' });
  }
}
