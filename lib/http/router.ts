/**
 * The router: one body middleware and one wrapped handler per route, and the error handler
 * for whatever else reaches it.
 */
import express, { type Router } from 'express';
import type { Login } from '../core/login';
import { bodyMiddleware } from './body';
import { errorHandler, route } from './respond';
import { logoutRoute, startRoute, verifyRoute } from './routes';
import { tokenRoute } from './token';
import { jwksRoute, openIdConfigurationRoute, userinfoRoute } from './well-known';

export function createRouter(login: Login, extra?: (router: Router) => void): Router {
  const { config } = login;
  const { logger } = config;
  const sessionBody = bodyMiddleware({ logger, session: true, allowCrossSite: config.allowCrossSite, allowedOrigins: config.allowedOrigins });
  const router = express.Router();
  router.post('/passwordless/start', sessionBody, route(logger, startRoute(login)));
  router.post('/passwordless/verify', sessionBody, route(logger, verifyRoute(login)));
  router.post('/passwordless/logout', sessionBody, route(logger, logoutRoute()));
  const tokens = config.tokens;
  if (tokens) {
    const tokenBody = bodyMiddleware({ logger, session: false, allowCrossSite: true, allowedOrigins: config.allowedOrigins });
    router.post('/oauth/token', tokenBody, route(logger, tokenRoute(login, tokens)));
    router.get('/.well-known/jwks.json', jwksRoute(tokens));
    router.get('/.well-known/openid-configuration', openIdConfigurationRoute(tokens));
    router.get('/userinfo', route(logger, userinfoRoute(tokens, config.now, logger)));
  }
  extra?.(router);
  router.use(errorHandler(logger));
  return router;
}
