/**
 * Reading a request for the core: only the allowed body properties, each left as sent for
 * the core to check, and who is asking (address, user agent, language headers).
 */
import type { Request } from 'express';
import { fail, shown } from '../errors';
import type { RequestInfo } from '../core/login';

export type Body = Readonly<Record<string, unknown>>;

/** A form whose single key is a JSON object: `curl -d '{"client_id":…}'` without a JSON content type. */
export function isJsonSentAsForm(body: object): boolean {
  const keys = Object.keys(body);
  return keys.length === 1 && /^\s*\{/.test(keys[0] as string);
}

/**
 * The type of a body the package's parsers read (JSON or a form), or a falsy value for any
 * other: Express 4 leaves `{}` where Express 5 leaves `undefined` for a body it did not parse,
 * so the content type decides, and both answer alike.
 */
export function parsedBodyType(req: Request): string | false | null {
  return req.is(['application/json', 'application/x-www-form-urlencoded']);
}

/**
 * What to do with a property the route does not take: the routes refuse it (Auth0's API does),
 * while `auth.start(req)`/`auth.verify(req)` read the app's own form, whose CSRF token or named
 * submit button is the app's business, and ignore it.
 */
export type OtherProperties = 'refuse' | 'ignore';

/** The body as an object of allowed properties; anything else is `bad.request` (or, with `others: 'ignore'`, left unread). */
export function readBody(req: Request, allowed: readonly string[], others: OtherProperties = 'refuse'): Body {
  const body: unknown = req.body;
  const parsed = parsedBodyType(req);
  // An app-wide express.raw() or express.text() in front got there first (body-parser runs once).
  if (parsed && (typeof body === 'string' || Buffer.isBuffer(body))) throw fail('bodyReadByAnotherParser');
  if (!parsed || body === null || typeof body !== 'object' || Array.isArray(body)) throw fail('notAnObject');
  if (parsed === 'application/x-www-form-urlencoded' && isJsonSentAsForm(body)) throw fail('jsonAsForm');
  for (const key of Object.keys(body)) {
    if (allowed.includes(key)) continue;
    const bracket = key.indexOf('[');
    // `authParams[nonce]` left as one flat name: a form parser without nesting read the body.
    const flatNested = parsed === 'application/x-www-form-urlencoded' && bracket >= 0;
    // Ignored, unless it names one of ours flat (`authParams[nonce]`, in a form or JSON): its value would be lost unseen.
    if (others === 'ignore' && !(bracket >= 0 && allowed.includes(key.slice(0, bracket)))) continue;
    throw fail(flatNested ? 'bracketPropertyNotAllowed' : 'propertyNotAllowed', {
      name: `"${shown(key, 40)}"`,
      allowed: allowed.join(', '),
    });
  }
  return body as Body;
}

/** Own property or undefined: never reads through the prototype (`__proto__`, `constructor`). */
export function field(body: Body, name: string): unknown {
  return Object.hasOwn(body, name) ? body[name] : undefined;
}

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

export function requestInfo(req: Request): RequestInfo {
  return {
    ip: req.ip ?? req.socket?.remoteAddress ?? '',
    userAgent: String(req.headers['user-agent'] ?? '').slice(0, 512),
    headers: { requestLanguage: header(req, 'x-request-language'), acceptLanguage: header(req, 'accept-language') },
  };
}

/** Auth0's `auth0-forwarded-for` (the core trusts it only from a confidential client that proved its secret). */
export function forwardedFor(req: Request): string | undefined {
  const value = req.headers['auth0-forwarded-for'];
  return typeof value === 'string' ? value : undefined;
}
