/**
 * Language: the raw header a template sees as `request_language` (Auth0's behaviour), and
 * the choice among per-language templates by Express's own negotiation (negotiator).
 */
import type { Request } from 'express';

/** Headers longer than this are treated as absent: no browser sends one, and the value reaches templates. */
const MAX_HEADER = 256;

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  const text = Array.isArray(value) ? value.join(', ') : value;
  return text && text.length <= MAX_HEADER ? text : undefined;
}

/** `x-request-language` when present, else `accept-language`, else `''`: exactly what Auth0 hands its templates. */
export function requestLanguage(req: Request): string {
  return header(req, 'x-request-language') ?? header(req, 'accept-language') ?? '';
}

/**
 * The best of `tags` for this request: `x-request-language` is negotiated first, then
 * `accept-language`; `undefined` when neither matches (the caller falls back to `template`).
 * `req.acceptsLanguages` reads `this.headers['accept-language']`, so it is called on a
 * stand-in holding the header being tried, which keeps Express's negotiation for both.
 */
export function pickLanguage(req: Request, tags: readonly string[]): string | undefined {
  for (const name of ['x-request-language', 'accept-language']) {
    const value = header(req, name);
    if (!value) continue;
    const standIn = { headers: { 'accept-language': value } };
    const match = (req.acceptsLanguages as (this: unknown, langs: string[]) => string | false).call(standIn, [...tags]);
    if (match) return match;
  }
  return undefined;
}
