/**
 * Turning outcomes into answers. The package's own errors are answered directly by the
 * route wrapper (no trip through `next(err)` and the rest of the router: a wrong guess is an
 * attacker's hot path); anything else reaches the router's error handler, which still gives
 * it the contract's JSON shape and logs it.
 */
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { PasswordlessError, asOAuthError, fail } from '../errors';
import { logEvent } from '../core/log';
import type { Logger } from '../types';

/** What Express's `json escape` setting does: no `<`, `>` or `&` for a browser to sniff as HTML. */
const HTML_SIGNIFICANT = /[<>&]/g;
const ESCAPED: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026' };

/** The body `res.json` would write: the app's `json replacer`, `json spaces` and `json escape` apply. */
function jsonText(res: Response, value: unknown): string {
  const app = res.app as Response['app'] | undefined;
  if (!app) return JSON.stringify(value);
  const replacer = app.get('json replacer') as ((key: string, value: unknown) => unknown) | undefined;
  const spaces = app.get('json spaces') as string | number | undefined;
  let text: string | undefined;
  try {
    text = replacer || spaces ? JSON.stringify(value, replacer, spaces) : JSON.stringify(value);
  } catch {
    text = undefined;
  }
  // A replacer that throws or drops the whole body would leave no answer (and the error's answer
  // would fail the same way): the package's answers are written as the contract has them then.
  if (typeof text !== 'string') text = JSON.stringify(value);
  return app.get('json escape') ? text.replace(HTML_SIGNIFICANT, (c) => ESCAPED[c] as string) : text;
}

/**
 * A JSON answer, written directly: the status, type, length and body `res.json` would give
 * (the app's JSON settings included), without its ETag (a SHA-1 of every body, of no use on
 * answers to POSTs, which nothing caches). About 10 µs of CPU per answer in the bench, on every
 * route.
 */
export function sendJson(res: Response, status: number, value: unknown): void {
  const text = jsonText(res, value);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

export function sendError(res: Response, err: PasswordlessError): void {
  if (res.headersSent) return;
  for (const name in err.headers) res.setHeader(name, err.headers[name] as string);
  sendJson(res, err.status, { error: err.code, error_description: err.message });
}

function parsesAsJson(raw: unknown): boolean {
  if (typeof raw !== 'string') return false;
  try {
    JSON.parse(raw);
    return true;
  } catch {
    return false;
  }
}

/** body-parser's and other middlewares' 4xx errors as the contract's answers; undefined for anything else. */
function clientSideError(err: { type?: unknown; status?: unknown; statusCode?: unknown }): PasswordlessError | undefined {
  const status = typeof err.status === 'number' ? err.status : typeof err.statusCode === 'number' ? err.statusCode : undefined;
  if (status === undefined || status < 400 || status >= 500) return undefined;
  switch (err.type) {
    case 'entity.too.large':
      return fail('bodyTooLarge');
    case 'entity.parse.failed':
      // Strict JSON refuses `123` or `"x"` too: valid JSON, but not the object asked for.
      return parsesAsJson((err as { body?: unknown }).body) ? fail('notAnObject') : fail('bodyNotJson');
    case 'encoding.unsupported':
      return fail('encodingUnsupported');
    default:
      // A body that does not decompress or decode, a charset it cannot read, an aborted upload.
      return status === 413 ? fail('bodyTooLarge') : fail('bodyUnreadable');
  }
}

function clientSideErrorOf(err: unknown): PasswordlessError | undefined {
  return err && typeof err === 'object' ? clientSideError(err as { type?: unknown; status?: unknown }) : undefined;
}

/** Any error as an answer: the package's own as they are, a client's mistake as 400, the rest as a logged 500. */
export function answerError(logger: Logger, res: Response, err: unknown, oauth = false): void {
  if (oauth) {
    const clientError = err instanceof PasswordlessError ? err : clientSideErrorOf(err);
    if (clientError) err = asOAuthError(clientError);
  }
  if (err instanceof PasswordlessError) {
    // A hook's failure was logged as hook_error where it happened.
    if (err.status >= 500 && err.code === 'server_error' && err !== fail('hookFailed'))
      logEvent(logger, 'internal_error', { message: err.message });
    sendError(res, err);
    return;
  }
  const clientError = clientSideErrorOf(err);
  if (clientError) return sendError(res, clientError);
  // Anything else is a bug or a broken dependency: say nothing specific to the client.
  logEvent(logger, 'internal_error', { message: err instanceof Error ? err.message : String(err) });
  sendError(res, fail('internal'));
}

/**
 * Wraps an async handler: its errors are answered here, on Express 4 and 5 alike. With `body`,
 * the route's body middleware runs first inside the same handler: Express's route dispatch
 * costs about 12 µs of CPU (3-4 % of a start) for each handler it steps through. With `oauth`
 * (the token endpoint), a body error is answered as OAuth's `invalid_request`, as its body
 * middleware answers them.
 */
export function route(
  logger: Logger,
  handler: (req: Request, res: Response) => Promise<void>,
  body?: RequestHandler,
  oauth = false,
): RequestHandler {
  const run = answered(logger, handler, oauth);
  if (!body) return run;
  return function passwordlessRoute(req: Request, res: Response, next: NextFunction) {
    body(req, res, (err?: unknown) => (err ? next(err) : run(req, res, next)));
  };
}

function answered(logger: Logger, handler: (req: Request, res: Response) => Promise<void>, oauth: boolean): RequestHandler {
  return function passwordlessRoute(req: Request, res: Response, next: NextFunction) {
    handler(req, res).catch((err: unknown) => {
      try {
        if (res.headersSent) next(err);
        else answerError(logger, res, err, oauth);
      } catch (answerFailed) {
        // Nothing may escape this promise: an unhandled rejection ends the process.
        next(answerFailed);
      }
    });
  };
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return function passwordlessErrorHandler(err: unknown, _req: Request, res: Response, next: NextFunction) {
    if (res.headersSent) return next(err);
    answerError(logger, res, err);
  };
}
