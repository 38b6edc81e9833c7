/**
 * Turning outcomes into answers: the async wrapper that forwards rejections (Express 4 does
 * not), and the router's error handler, which gives every failure the contract's JSON shape.
 */
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { ErrorCodes, PasswordlessError } from '../errors';
import { logEvent } from '../log';
import type { Logger } from '../types';

/** Wraps an async handler so that a rejection reaches `next(err)` on Express 4 and 5 alike. */
export function asyncRoute(handler: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return function passwordlessRoute(req: Request, res: Response, next: NextFunction) {
    handler(req, res).catch(next);
  };
}

export function sendError(res: Response, err: PasswordlessError): void {
  if (res.headersSent) return;
  for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
  res.status(err.status).json({ error: err.code, error_description: err.message });
}

/** body-parser's errors, by its `type`, as the contract's 4xx answers. */
function bodyParserError(err: { type?: unknown; status?: unknown }): PasswordlessError | undefined {
  if (typeof err.type !== 'string' || typeof err.status !== 'number' || err.status < 400 || err.status >= 500) return undefined;
  switch (err.type) {
    case 'entity.too.large':
      return new PasswordlessError(ErrorCodes.badRequest, 413, 'The request body is too large.');
    case 'entity.parse.failed':
      return new PasswordlessError(ErrorCodes.badRequest, 400, 'The request body is not valid JSON.');
    default:
      return new PasswordlessError(ErrorCodes.badRequest, err.status === 413 ? 413 : 400, 'The request body could not be read. Send JSON or urlencoded UTF-8.');
  }
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return function passwordlessErrorHandler(err: unknown, _req: Request, res: Response, next: NextFunction) {
    if (res.headersSent) return next(err);
    if (err instanceof PasswordlessError) {
      if (err.status >= 500 && err.code === ErrorCodes.serverError) logEvent(logger, 'internal_error', { message: err.message });
      return sendError(res, err);
    }
    const parserError = err && typeof err === 'object' ? bodyParserError(err as { type?: unknown; status?: unknown }) : undefined;
    if (parserError) return sendError(res, parserError);
    // Anything else is a bug or a broken dependency: say nothing specific to the client.
    logEvent(logger, 'internal_error', { message: err instanceof Error ? err.message : String(err) });
    return sendError(res, new PasswordlessError(ErrorCodes.serverError, 500, 'Internal error.'));
  };
}
