/**
 * The factory: resolves the options once, builds the login core, and puts the HTTP layer
 * around it (router, `requireAuth`, the server-side `start`/`verify` for form posts). It
 * lives with the HTTP layer because it is the package's Express face; the core below it
 * knows nothing of Express.
 */
import type { Request, RequestHandler, Router } from 'express';
import { resolveOptions } from '../config/options';
import { createLogin } from '../core/login';
import { logEvent, throttledLog } from '../core/log';
import { checkMessageLengths, segmentWarnings } from '../core/message';
import type { PasswordlessUser } from '../core/users';
import { PasswordlessError, fail } from '../errors';
import { fromOtherSite } from './origin';
import { createRouter } from './router';
import { startFromRequest, verifyFromRequest, type StartAnswer } from './routes';
import { logOut, requireAuthMiddleware, sessionUser } from './session';
import { isSessionBound } from '../stores/session';
import type { PasswordlessOptions } from '../types';
import './augment';

/** A refusal as data, for pages that render it instead of answering JSON. */
export interface Refused {
  ok: false;
  status: number;
  error: string;
  error_description: string;
  /** Seconds, when the answer is a limit's. */
  retryAfter?: number;
}

export type StartOutcome = ({ ok: true } & StartAnswer) | Refused;
export type VerifyOutcome = { ok: true; user: PasswordlessUser } | Refused;
export type LogoutOutcome = { ok: true } | Refused;

export interface Passwordless {
  /** The routes, with their own body parsers. Mount after express-session. */
  readonly router: Router;
  /**
   * Passes logged-in sessions with `req.user` set; answers 401 otherwise. Mount it as it is
   * (`app.get('/me', auth.requireAuth, …)`); called with no arguments (`auth.requireAuth()`, as
   * `cors()` is) it returns itself.
   */
  readonly requireAuth: RequestHandler & (() => RequestHandler);
  /** The logged-in user of this request's session, or `undefined` (for pages that redirect instead of answering 401). */
  getUser(req: Request): PasswordlessUser | undefined;
  /**
   * A start from your own route (a form post without JavaScript): reads `req.body` (parse
   * it with `express.urlencoded()`), applies every check and limit, and returns the outcome
   * instead of answering. Fields of the form's own (a CSRF token, a named button) are ignored.
   */
  start(req: Request): Promise<StartOutcome>;
  /** A verify from your own route: on success the session is logged in (regenerated). */
  verify(req: Request): Promise<VerifyOutcome>;
  /** A logout from your own route: the routes' origin check, then the session destroyed. Reads no body. */
  logout(req: Request): Promise<LogoutOutcome>;
  /** Releases what this instance opened (the default store), and lets go of its logger in shared Redis stores. Injected stores and clients stay open. */
  close(): Promise<void>;
}

function refusedOutcome(err: unknown, logger: Parameters<typeof logEvent>[0]): Refused {
  const e = err instanceof PasswordlessError ? err : fail('internal');
  if (!(err instanceof PasswordlessError))
    logEvent(logger, 'internal_error', { message: err instanceof Error ? err.message : String(err) });
  const retry = e.headers['Retry-After'];
  return { ok: false, status: e.status, error: e.code, error_description: e.message, ...(retry ? { retryAfter: Number(retry) } : {}) };
}

export function passwordless(options: PasswordlessOptions): Passwordless {
  const config = resolveOptions(options);
  // Before the login exists: a construction error leaves nothing registered on a shared store.
  const names = [...config.clients.values()].map((c) => c.name);
  checkMessageLengths(
    config,
    names.reduce((a, b) => (b.length < a.length ? b : a), names[0] ?? ''),
  );
  const login = createLogin(config);
  const firstClient = config.clients.values().next().value;
  for (const message of [...config.warnings, ...segmentWarnings(config, firstClient?.name ?? 'App')])
    logEvent(config.logger, 'config_warning', { message });
  const router = createRouter(login);

  /** A session route's work from the app's own route: the routes' session and origin checks, then `run`, as an outcome. */
  async function outcome<T>(req: Request, run: () => Promise<T>, sessionOptional = false): Promise<({ ok: true } & T) | Refused> {
    try {
      if (!req.session && !sessionOptional) throw fail('noSession');
      if (!config.allowCrossSite && fromOtherSite(req, config.allowedOrigins)) throw fail('crossSite');
      return { ok: true, ...(await run()) };
    } catch (err) {
      return refusedOutcome(err, config.logger);
    }
  }

  /**
   * `run` once the app has parsed the body: a JSON or form body no parser read would otherwise
   * be answered as the client's mistake. A parser that ran has consumed the request (body-parser
   * 2 leaves only that; 1 also sets `_body`), whatever it made of it: an empty form, a `=` or a
   * `&` is then the client's (400), as is a body of another type or no body at all.
   */
  function withBody<T>(req: Request, run: () => Promise<T>): () => Promise<T> {
    return function parsedFirst() {
      const length = req.headers['content-length'];
      const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
      const parsed = (req as { _body?: unknown })._body === true || req.readableEnded;
      const type = hasBody && !parsed ? req.is(['application/json', 'application/x-www-form-urlencoded']) : false;
      if (type) {
        warnUnparsedOnce(type);
        throw fail('noBodyParser');
      }
      return run();
    };
  }

  /**
   * The developer's hint, once per type: the client's answer (415) cannot tell an app that takes
   * no such bodies from one that forgot its parser, and any client can send either type.
   */
  const onceEver = throttledLog(Number.POSITIVE_INFINITY);
  function warnUnparsedOnce(type: string): void {
    const parser = type === 'application/json' ? 'express.json()' : 'express.urlencoded()';
    onceEver(type, 0, () =>
      logEvent(config.logger, 'config_warning', {
        message: `auth.start(req) or auth.verify(req) got a body of type ${type} that nothing had parsed, and answered 415: if your app takes such bodies, mount ${parser} before the route that calls it.`,
      }),
    );
  }

  return Object.freeze({
    router,
    requireAuth: requireAuthMiddleware(config),
    getUser: (req: Request) => sessionUser(config, req),
    // As the start route: no express-session needed unless the store keeps codes in it.
    start: (req: Request) =>
      outcome(
        req,
        withBody(req, () => startFromRequest(login, req, 'ignore')),
        !isSessionBound(config.store),
      ),
    verify: (req: Request) =>
      outcome(
        req,
        withBody(req, async () => ({ user: await verifyFromRequest(login, req, 'ignore') })),
      ),
    logout: (req: Request) => outcome(req, () => logOut(req).then(() => ({}))),
    async close() {
      // Before the stores close: a background send that fails still gives its limits back.
      await login.close();
      if (config.ownsStore) await config.store.close?.();
      if (options.limitStore === undefined) await config.limitStore?.close?.();
    },
  });
}
