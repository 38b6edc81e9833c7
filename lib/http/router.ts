/**
 * The router: one body middleware and one wrapped handler per route, and the error handler
 * for whatever else reaches it.
 */
import { tracingChannel } from 'node:diagnostics_channel';
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
  const routes = new Map<string, RequestHandler>();
  /** A POST route: registered on the router, and answered at its exact path by `withExactPosts`. */
  const post = (path: string, handler: RequestHandler) => {
    routes.set(path, handler);
    router.post(path, handler);
  };
  // A start with a store that keeps nothing in the session works without express-session (a
  // backend that only uses the token grant needs none); every other session route needs it.
  post('/passwordless/start', route(logger, startRoute(login), body({ session: true, sessionOptional: !isSessionBound(config.store) })));
  post('/passwordless/verify', route(logger, verifyRoute(login), sessionBody));
  post('/passwordless/logout', route(logger, logoutRoute(), sessionBody));
  const tokens = config.tokens;
  if (tokens) {
    post('/oauth/token', route(logger, tokenRoute(login, tokens), body({ session: false, oauth: true }), true));
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

/** The parts of an Express route layer (4 and 5 alike) the exact-path dispatch reads. */
interface RouteLayer {
  handle: (req: Request, res: Response, next: NextFunction) => void;
  route?: { path?: unknown; stack?: ReadonlyArray<{ handle?: unknown }> };
}

/**
 * Whether the route still runs exactly the handler registered on it. Some instrumentations
 * (dd-trace's) wrap the route's dispatcher and its handlers keeping their names, as the router
 * is built: the wrapped handler is then no longer the one registered.
 */
function untouched(layer: RouteLayer, handler: RequestHandler): boolean {
  const stack = layer.route?.stack;
  return stack?.length === 1 && stack[0]?.handle === handler;
}

/** Express's own route dispatchers: `handle` in Express 5's router, `bound dispatch` in Express 4's. */
const EXPRESS_DISPATCH = new Set(['handle', 'bound dispatch']);
/** Express 5's router publishes each layer it runs here when someone traces it (Node's diagnostics_channel). */
const routerTracing = tracingChannel('express.router.request');

function routerTraced(): boolean {
  const c = routerTracing;
  return (
    c.start.hasSubscribers || c.end.hasSubscribers || c.asyncStart.hasSubscribers || c.asyncEnd.hasSubscribers || c.error.hasSubscribers
  );
}

/**
 * The router, answering a POST to one of its own routes' exact paths without Express's router
 * and route dispatch: each one an Express request steps through costs CPU (3-5 % of a start or
 * a wrong guess on the bench's 2-core machine, measured side by side), and starts and wrong
 * guesses are what floods bring. What the Router would do is kept: the handler is the one
 * registered on it, `req.route` is its route and `req.params` its (empty) parameters, errors
 * reach the router's error handler, then the app's. Every other spelling Express also matches
 * (another case, a trailing slash, a query string) goes through the Router, which this stays
 * (only its own `handle` is changed), so `router.use` and mounting under a prefix work as
 * before. So does every request while the router's layers are observed: traced through
 * Express's diagnostics channel, or wrapped by an instrumentation (OpenTelemetry's replaces a
 * layer's `handle`), whose spans and route names would otherwise miss these routes.
 */
function withExactPosts(router: Router, posts: ReadonlyMap<string, RequestHandler>, errors: ErrorRequestHandler): Router {
  const routed = router as Router & { handle(req: Request, res: Response, out: NextFunction): void; stack: RouteLayer[] };
  const direct = new Map<string, { handler: RequestHandler; layer: RouteLayer; dispatch: RouteLayer['handle'] }>();
  for (const [path, handler] of posts) {
    const layer = routed.stack.find((l) => l.route?.path === path);
    if (layer && EXPRESS_DISPATCH.has(layer.handle.name) && untouched(layer, handler))
      direct.set(path, { handler, layer, dispatch: layer.handle });
  }
  const expressHandle = routed.handle;
  routed.handle = function passwordlessHandle(this: unknown, req: Request, res: Response, out: NextFunction): void {
    const post = req.method === 'POST' ? direct.get(req.url) : undefined;
    if (!post || post.layer.handle !== post.dispatch || !untouched(post.layer, post.handler) || routerTraced())
      return expressHandle.call(this, req, res, out);
    req.route = post.layer.route;
    req.params = {};
    // As Express calls a layer: what the handler throws goes to the router's error handler.
    try {
      post.handler(req, res, function afterRoute(err?: unknown): void {
        if (!err) return out();
        // Called from a promise's callback too: an error handler that throws goes on to the app's, as Express's layers pass it.
        try {
          errors(err, req, res, out);
        } catch (handlerFailed) {
          out(handlerFailed);
        }
      });
    } catch (err) {
      errors(err, req, res, out);
    }
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
