/**
 * The router: one body middleware and one wrapped handler per route, and the error handler
 * for whatever else reaches it.
 */
import express, {
  type ErrorRequestHandler,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import type { Login } from '../core/login';
import type { SmsSender } from '../types';
import { isSessionBound } from '../stores/session';
import { bodyMiddlewares } from './body';
import { deliveryReportHandler, deliveryReportPath } from './delivery-reports';
import { errorHandler, route } from './respond';
import { logoutRoute, startRoute, verifyRoute } from './routes';
import { tokenRoute } from './token';
import { corsHeaders, preflight } from './cors';
import { jwksRoute, openIdConfigurationRoute, userinfoRoute } from './well-known';

export function createRouter(login: Login): Router {
  const { config } = login;
  const { logger } = config;
  const origins = config.allowedOrigins;
  const body = bodyMiddlewares({ logger, allowCrossSite: config.allowCrossSite, allowedOrigins: origins });
  const sessionBody = body({ session: true });
  const router = express.Router();
  // A start with a store that keeps nothing in the session works without express-session (a
  // backend that only uses the token grant needs none); every other session route needs it.
  const routes = new Map<string, RequestHandler>([
    ['/passwordless/start', route(logger, startRoute(login), body({ session: true, sessionOptional: !isSessionBound(config.store) }))],
    ['/passwordless/verify', route(logger, verifyRoute(login), sessionBody)],
    ['/passwordless/logout', route(logger, logoutRoute(), sessionBody)],
  ]);
  for (const [path, handler] of routes) router.post(path, handler);
  const tokens = config.tokens;
  if (tokens) {
    const tokenBody = body({ session: false, oauth: true });
    const token = route(logger, tokenRoute(login, tokens), tokenBody);
    routes.set('/oauth/token', token);
    router.post('/oauth/token', token);
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
  const errors = errorHandler(logger);
  router.use(errors);
  return withExactPosts(router, routes, errors);
}

/**
 * The router, answering a POST to one of its own routes' exact paths without Express's route
 * matching: each router and route an Express request steps through costs CPU (about 7 % of a
 * start on the bench's 2-core machine, measured side by side), and a start or a wrong guess is
 * what floods bring. What the Router would do is kept: the handler is the one registered on it,
 * its errors reach the router's error handler, then the app's, and every other spelling Express
 * also matches (another case, a trailing slash, a query string) goes through the Router itself.
 * It stays the Router (its own `handle` is the only change), so `router.use` and mounting under
 * a prefix work as before.
 */
function withExactPosts(router: Router, posts: ReadonlyMap<string, RequestHandler>, errors: ErrorRequestHandler): Router {
  const routed = router as Router & { handle(req: Request, res: Response, out: NextFunction): void };
  const expressHandle = routed.handle;
  routed.handle = function passwordlessHandle(this: unknown, req: Request, res: Response, out: NextFunction): void {
    const handler = req.method === 'POST' ? posts.get(req.url) : undefined;
    if (!handler) return expressHandle.call(this, req, res, out);
    handler(req, res, (err?: unknown) => (err ? errors(err, req, res, out) : out()));
  };
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
