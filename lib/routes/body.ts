/**
 * The one middleware in front of each route: the session check, the `trust proxy` warning,
 * and the body parsers (JSON or urlencoded, 8 kB), as a single function so that a request
 * crosses one router layer instead of four.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { logEvent } from '../log';
import { missingSession } from '../session';
import type { Logger } from '../types';

/** Small on purpose: no valid request comes near it. */
const BODY_LIMIT = '8kb';

export function bodyMiddleware(logger: Logger, needsSession: boolean): RequestHandler {
  const json = express.json({ limit: BODY_LIMIT, strict: true });
  // `depth` is a body-parser option that Express 4's types do not list yet.
  const form = express.urlencoded({ extended: true, limit: BODY_LIMIT, parameterLimit: 20, depth: 2 } as Parameters<typeof express.urlencoded>[0]);
  let warnedTrustProxy = false;
  return function passwordlessBody(req: Request, res: Response, next: NextFunction): void {
    if (needsSession && !req.session) return next(missingSession());
    // `trust proxy: true` lets any client pick its req.ip, which defeats the per-IP limit.
    if (!warnedTrustProxy && req.app?.get('trust proxy') === true) {
      warnedTrustProxy = true;
      logEvent(logger, 'config_warning', { message: "app.set('trust proxy', true) lets clients choose req.ip through X-Forwarded-For; set a hop count or subnet list instead." });
    }
    json(req, res, (err?: unknown) => (err ? next(err) : form(req, res, next)));
  };
}
