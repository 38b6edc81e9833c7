/**
 * The router: one body middleware and one wrapped handler per route, and the error handler
 * for whatever else reaches it.
 */
import express, { type Router } from 'express';
import type { Login } from '../core/login';
import type { SmsSender } from '../types';
import { isSessionBound } from '../stores/session';
import { bodyMiddleware } from './body';
import { deliveryReportHandler, deliveryReportPath } from './delivery-reports';
import { errorHandler, route } from './respond';
import { logoutRoute, startRoute, verifyRoute } from './routes';
import { tokenRoute } from './token';
import { corsHeaders, preflight } from './cors';
import { jwksRoute, openIdConfigurationRoute, userinfoRoute } from './well-known';

export function createRouter(login: Login, extra?: (router: Router) => void): Router {
  const { config } = login;
  const { logger } = config;
  const sessionBody = bodyMiddleware({
    logger,
    session: true,
    allowCrossSite: config.allowCrossSite,
    allowedOrigins: config.allowedOrigins,
    sessionOptional: isSessionBound(config.store) ? new Set() : new Set(['/passwordless/start']),
  });
  const router = express.Router();
  const origins = config.allowedOrigins;
  router.post('/passwordless/start', route(logger, startRoute(login), sessionBody));
  router.post('/passwordless/verify', route(logger, verifyRoute(login), sessionBody));
  router.post('/passwordless/logout', route(logger, logoutRoute(), sessionBody));
  const tokens = config.tokens;
  if (tokens) {
    const tokenBody = bodyMiddleware({
      logger,
      session: false,
      allowCrossSite: config.allowCrossSite,
      allowedOrigins: origins,
      oauth: true,
    });
    router.post('/oauth/token', route(logger, tokenRoute(login, tokens), tokenBody));
    router.get('/.well-known/jwks.json', jwksRoute(tokens));
    router.get('/.well-known/openid-configuration', openIdConfigurationRoute(tokens));
    const userinfo = route(logger, userinfoRoute(tokens, config.clients, config.now, logger));
    // OpenID Connect asks for both; the token comes in the Authorization header either way.
    router.get('/userinfo', corsHeaders(origins), userinfo);
    router.post('/userinfo', corsHeaders(origins), userinfo);
  }
  // The allowed origins' preflights; other OPTIONS requests go on to the app.
  if (origins.size > 0) {
    const posts = ['/passwordless/start', '/passwordless/verify', '/passwordless/logout', ...(tokens ? ['/oauth/token'] : [])];
    router.options(posts, preflight(origins, 'POST'));
    if (tokens) router.options('/userinfo', preflight(origins, 'GET, POST'));
  }
  // Twilio's delivery reports, for every sender (or failover member) given a statusCallback:
  // answered at the URL's path as the app sees it (the router may be mounted under a prefix),
  // compared as a string, so no character of the URL is read as a route pattern.
  const reports = new Map(
    [...deliveryReportTargets(config.sender)].map(([path, [first, ...others]]) => [
      path,
      deliveryReportHandler({
        url: (first as ReportTarget).url,
        authToken: (first as ReportTarget).authToken,
        others,
        logger,
        ...(config.onDeliveryStatus ? { onDeliveryStatus: config.onDeliveryStatus } : {}),
      }),
    ]),
  );
  if (reports.size > 0) {
    router.use(function deliveryReports(req, res, next) {
      const handler = req.method === 'POST' ? reports.get(req.baseUrl + req.path) : undefined;
      if (handler) return handler(req, res, next);
      next();
    });
  }
  extra?.(router);
  router.use(errorHandler(logger));
  return router;
}

interface ReportTarget {
  url: string;
  authToken: string;
}

function reportTargetsOf(sender: SmsSender): ReportTarget[] {
  const s = sender as SmsSender & { deliveryReports?: ReportTarget; senders?: readonly SmsSender[] };
  const own = s.deliveryReports ? [s.deliveryReports] : [];
  return [...own, ...(s.senders ?? []).flatMap(reportTargetsOf)];
}

/**
 * Every path delivery reports come to, with the accounts that sign them there: failover members
 * of two Twilio accounts may share one `statusCallback`, and each signs with its own auth token.
 */
function deliveryReportTargets(sender: SmsSender): Map<string, ReportTarget[]> {
  const byPath = new Map<string, ReportTarget[]>();
  for (const t of reportTargetsOf(sender)) {
    const path = deliveryReportPath(t.url);
    const list = byPath.get(path) ?? [];
    if (!list.some((o) => o.url === t.url && o.authToken === t.authToken)) list.push(t);
    byPath.set(path, list);
  }
  return byPath;
}
