/**
 * The factory: resolves the options once, then assembles the router (body parsers, routes,
 * error handler), `requireAuth` and `close()`.
 */
import express, { type Request, type RequestHandler, type Router } from 'express';
import { createLimits, limiterRedisOf, type Limits } from './limits';
import { logEvent } from './log';
import { segmentWarnings } from './message';
import { resolveOptions } from './options';
import { bodyMiddleware } from './routes/body';
import { asyncRoute, errorHandler } from './routes/respond';
import { logoutRoute } from './routes/logout';
import { startRoute } from './routes/start';
import { tokenRoute } from './routes/token';
import { jwksRoute, openIdConfigurationRoute, userinfoRoute } from './routes/well-known';
import { verifyRoute } from './routes/verify';
import type { Runtime } from './runtime';
import { requireAuthMiddleware, sessionUser, type PasswordlessUser } from './session';
import type { PasswordlessOptions } from './types';

export interface Passwordless {
  /** The routes, with their own body parsers. Mount after express-session. */
  readonly router: Router;
  /** Passes logged-in sessions with `req.user` set; answers 401 otherwise. */
  readonly requireAuth: RequestHandler;
  /** The logged-in user of this request's session, or `undefined` (for pages that redirect instead of answering 401). */
  getUser(req: Request): PasswordlessUser | undefined;
  /** Releases what this instance opened (the default store). Injected stores and clients stay open. */
  close(): Promise<void>;
}

export function passwordless(options: PasswordlessOptions): Passwordless {
  const config = resolveOptions(options);
  const limits: Limits = createLimits(config.rateLimits, config.secret, limiterRedisOf(config.store));
  const runtime: Runtime = { config, limits };
  const firstClient = config.clients.values().next().value;
  for (const message of segmentWarnings(config, firstClient?.name ?? 'App')) logEvent(config.logger, 'config_warning', { message });
  const sessionRoute = bodyMiddleware(config.logger, true, config.allowCrossSite);
  const tokenBody = bodyMiddleware(config.logger, false);

  const router = express.Router();
  router.post('/passwordless/start', sessionRoute, asyncRoute(startRoute(runtime)));
  router.post('/passwordless/verify', sessionRoute, asyncRoute(verifyRoute(runtime)));
  router.post('/passwordless/logout', sessionRoute, asyncRoute(logoutRoute()));
  if (config.tokens) {
    router.post('/oauth/token', tokenBody, asyncRoute(tokenRoute(runtime)));
    router.get('/.well-known/jwks.json', jwksRoute(config.tokens));
    router.get('/.well-known/openid-configuration', openIdConfigurationRoute(config.tokens));
    router.get('/userinfo', asyncRoute(userinfoRoute(runtime)));
  }
  router.use(errorHandler(config.logger));

  return Object.freeze({
    router,
    requireAuth: requireAuthMiddleware(),
    getUser: sessionUser,
    async close() {
      if (config.ownsStore) await config.store.close?.();
    },
  });
}
