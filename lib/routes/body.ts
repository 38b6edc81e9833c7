/**
 * The one middleware in front of each route: the session check, the `trust proxy` warning,
 * and the body parsers (JSON or urlencoded, 8 kB), as a single function so that a request
 * crosses one router layer instead of four.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ErrorCodes, PasswordlessError, clientError } from '../errors';
import { logEvent } from '../log';
import { missingSession } from '../session';
import type { Logger } from '../types';

/** Small on purpose: no valid request comes near it. */
const BODY_LIMIT = '8kb';

/** What the session routes refuse when a browser says the request comes from another site. */
function crossSite(): PasswordlessError {
  return clientError(ErrorCodes.badRequest, 403, 'Cross-site requests are refused: call this route from your own site (or set allowCrossSite).');
}

/**
 * `needsSession`: the route works on the browser's session, so it needs express-session and
 * (unless `allowCrossSite`) refuses requests a browser marks `Sec-Fetch-Site: cross-site`: a
 * form on another site could otherwise log the visitor into the attacker's account (login
 * CSRF). Native apps and servers send no such header and are not affected.
 */
export function bodyMiddleware(logger: Logger, needsSession: boolean, allowCrossSite = false): RequestHandler {
  const json = express.json({ limit: BODY_LIMIT, strict: true });
  // `depth` is a body-parser option that Express 4's types do not list yet.
  const form = express.urlencoded({ extended: true, limit: BODY_LIMIT, parameterLimit: 20, depth: 2 } as Parameters<typeof express.urlencoded>[0]);
  let warnedTrustProxy = false;
  return function passwordlessBody(req: Request, res: Response, next: NextFunction): void {
    if (needsSession && !req.session) return next(missingSession());
    if (needsSession && !allowCrossSite && req.headers['sec-fetch-site'] === 'cross-site') return next(crossSite());
    // `trust proxy: true` lets any client pick its req.ip, which defeats the per-IP limit.
    if (!warnedTrustProxy && req.app?.get('trust proxy') === true) {
      warnedTrustProxy = true;
      logEvent(logger, 'config_warning', { message: "app.set('trust proxy', true) lets clients choose req.ip through X-Forwarded-For; set a hop count or subnet list instead." });
    }
    json(req, res, (err?: unknown) => (err ? next(err) : form(req, res, next)));
  };
}
