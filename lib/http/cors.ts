/**
 * CORS for the pages of `allowedOrigins`, the browser apps on another origin that Auth0 calls
 * "Allowed Web Origins": an SPA at https://app.example.com calling the routes at
 * https://auth.example.com sends a preflight (its JSON body and `Auth0-Client` header are not
 * "simple"), and reads no answer without `Access-Control-Allow-Origin`. Only listed origins are
 * answered, each by name and with credentials (the session cookie); any other origin gets no
 * CORS header at all, so the browser keeps it out, and an app's own `cors()` in front still works.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** What Auth0's SDKs send besides the body's type: their telemetry, the language, a bearer token. */
const ALLOWED_HEADERS = 'Content-Type, Authorization, Auth0-Client, X-Request-Language';
/** Preflights are cached by the browser this long (seconds): Chrome caps it at 7200. */
const MAX_AGE = '600';

/** Sets the answer's CORS headers when the request's `Origin` is listed; true when it was. */
export function allowOrigin(req: Request, res: Response, allowed: ReadonlySet<string>): boolean {
  if (allowed.size === 0) return false;
  // Every answer depends on the Origin once some are listed: a cache must not serve one
  // origin's answer (with or without CORS headers) to another.
  res.vary('Origin');
  const origin = req.headers.origin;
  if (typeof origin !== 'string' || !allowed.has(origin)) return false;
  res.setHeader('Access-Control-Allow-Origin', origin);
  res.setHeader('Access-Control-Allow-Credentials', 'true');
  // A 429's and a 503's wait, readable by the page (a CORS answer shows it no other header).
  res.setHeader('Access-Control-Expose-Headers', 'Retry-After');
  return true;
}

/** Answers a listed origin's preflight for a route of `methods`; anything else goes on to the app. */
export function preflight(allowed: ReadonlySet<string>, methods: string): RequestHandler {
  return function passwordlessPreflight(req: Request, res: Response, next: NextFunction): void {
    if (!allowOrigin(req, res, allowed)) return next();
    res.setHeader('Access-Control-Allow-Methods', methods);
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', MAX_AGE);
    res.statusCode = 204;
    res.end();
  };
}

/** The CORS headers of a listed origin on a route's answer (for routes without the body middleware). */
export function corsHeaders(allowed: ReadonlySet<string>): RequestHandler {
  return function passwordlessCors(req: Request, res: Response, next: NextFunction): void {
    allowOrigin(req, res, allowed);
    next();
  };
}
