/**
 * The session side of a login: regenerate (so a planted session id is worthless), store the
 * user, and save before answering (so a fast client cannot race the store write).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ErrorCodes, PasswordlessError } from './errors';

/** What a logged-in session holds, and what `requireAuth` puts on `req.user`. */
export interface PasswordlessUser {
  user_id: string;
  phone_number: string;
  phone_verified: true;
  [claim: string]: unknown;
}

/** The session property that holds the logged-in user. */
export const SESSION_USER_KEY = 'passwordlessUser';

type SessionBag = Record<string, unknown>;

export function missingSession(): PasswordlessError {
  return new PasswordlessError(
    ErrorCodes.serverError,
    500,
    'express-passwordless-sms needs express-session: mount app.use(session({ ... })) before the passwordless router.',
  );
}

function call(req: Request, method: 'regenerate' | 'save' | 'destroy'): Promise<void> {
  return new Promise((resolve, reject) => {
    req.session[method]((err?: unknown) => (err ? reject(err) : resolve()));
  });
}

export async function logIn(req: Request, user: PasswordlessUser): Promise<void> {
  await call(req, 'regenerate');
  (req.session as unknown as SessionBag)[SESSION_USER_KEY] = user;
  await call(req, 'save');
}

export async function logOut(req: Request): Promise<void> {
  if (req.session) await call(req, 'destroy');
}

export function sessionUser(req: Request): PasswordlessUser | undefined {
  const value = req.session ? (req.session as unknown as SessionBag)[SESSION_USER_KEY] : undefined;
  return value && typeof value === 'object' ? (value as PasswordlessUser) : undefined;
}

/** Lets logged-in sessions through with `req.user` set; answers 401 otherwise. */
export function requireAuthMiddleware(): RequestHandler {
  return function requireAuth(req: Request, res: Response, next: NextFunction) {
    if (!req.session) return next(missingSession());
    const user = sessionUser(req);
    if (!user) {
      res.status(401).json({ error: ErrorCodes.unauthorized, error_description: 'Log in first.' });
      return;
    }
    (req as Request & { user?: PasswordlessUser }).user = user;
    next();
  };
}
