/**
 * The session side of a login: regenerate (so a planted session id is worthless), store the
 * user, and save before answering (so a fast client cannot race the store write); the
 * browser binding of `sessionStore`; and `requireAuth`.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { fail } from '../errors';
import { newId } from '../core/crypto';
import type { PasswordlessUser } from '../core/users';
import { sendError } from './respond';

/** The session property that holds the logged-in user. */
export const SESSION_USER_KEY = 'passwordlessUser';

type SessionBag = Record<string, unknown>;

function bag(req: Request): SessionBag | undefined {
  return req.session as unknown as SessionBag | undefined;
}

function call(req: Request, method: 'regenerate' | 'save' | 'destroy'): Promise<void> {
  return new Promise((resolve, reject) => {
    req.session[method]((err?: unknown) => (err ? reject(err) : resolve()));
  });
}

/**
 * Logs the session in: always a regenerate, even for a request that brought no cookie. Whether
 * a session is new cannot be told from the request (an app may load sessions by header or query
 * for native clients, or strip cookies after express-session), and an id drawn earlier in the
 * request may have been logged. express-session then writes the new session once more when the
 * answer ends, holding back its last byte till that write is done: the answer is sent whole
 * (`res.end(body)`), so no client can log out before that write lands and be logged in again.
 */
export async function logIn(req: Request, user: PasswordlessUser): Promise<void> {
  await call(req, 'regenerate');
  (bag(req) as SessionBag)[SESSION_USER_KEY] = user;
  await call(req, 'save');
}

/**
 * The answer to a login, once `logIn` saved the session. express-session would write the new
 * session to its store a second time when the answer ends (it cannot tell that it was saved,
 * since its id changed), holding back the answer's last byte till that write is done. The
 * headers are written first, so express-session sets the new session's cookie as always; then,
 * for the length of `res.end` only, the request has no session id, which express-session takes
 * as nothing to save: the answer goes out whole in one write, after the only store write.
 */
export function sendAfterLogin(req: Request, res: Response, value: unknown): void {
  const text = JSON.stringify(value);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.writeHead(200);
  const id = req.sessionID;
  (req as { sessionID: unknown }).sessionID = undefined;
  try {
    res.end(text);
  } finally {
    req.sessionID = id;
  }
}

export async function logOut(req: Request): Promise<void> {
  if (req.session) await call(req, 'destroy');
}

export function sessionUser(req: Request): PasswordlessUser | undefined {
  const value = bag(req)?.[SESSION_USER_KEY];
  return value && typeof value === 'object' ? (value as PasswordlessUser) : undefined;
}

/**
 * The browser binding of `sessionStore`: a random id kept in the session. A start makes one
 * when the session has none, but it is written to the session only once the start succeeded
 * (`keepBinding`), so refused requests create no sessions; a verify only reads it, so a
 * cookie-less verify creates no session either (`saveUninitialized: false` holds).
 */
export function binding(req: Request, sessionKey: string, create: boolean): string | undefined {
  const existing = bag(req)?.[sessionKey];
  if (typeof existing === 'string' && existing.length > 0) return existing;
  return create ? newId() : undefined;
}

/** Stores a binding made by `binding(req, key, true)` after the start it was made for succeeded. */
export function keepBinding(req: Request, sessionKey: string, id: string): void {
  const session = bag(req);
  if (session && session[sessionKey] !== id) session[sessionKey] = id;
}

/** Lets logged-in sessions through with `req.user` set; answers 401 otherwise. */
export function requireAuthMiddleware(): RequestHandler {
  return function requireAuth(req: Request, res: Response, next: NextFunction) {
    if (!req.session) return sendError(res, fail('noSession'));
    const user = sessionUser(req);
    if (!user) return sendError(res, fail('unauthorized'));
    req.user = user;
    next();
  };
}
