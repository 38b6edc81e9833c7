/**
 * The session side of a login: regenerate (so a planted session id is worthless), store the
 * user, and save before answering (so a fast client cannot race the store write); the
 * browser binding of `sessionStore`; and `requireAuth`.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Config } from '../config/options';
import { fail } from '../errors';
import { newId } from '../core/crypto';
import type { PasswordlessUser } from '../core/users';
import { sendError, sendJson } from './respond';

/** The session property that holds the logged-in user. */
export const SESSION_USER_KEY = 'passwordlessUser';
/**
 * The session property that says who logged it in: the connection (so an app's other
 * `passwordless()` instance, a staff connection next to a customers one, does not take it for
 * its own login) and the client (so a client disabled or removed takes its sessions with it).
 */
export const SESSION_LOGIN_KEY = 'passwordlessLogin';

/** Who logged a session in. */
export interface SessionLogin {
  readonly connection: string;
  readonly clientId: string;
}

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
 * request may have been logged. The package's own routes then answer with `sendAfterLogin`; an
 * app's route (`pl.verify(req)`) answers as it likes, and express-session writes the session
 * once more as that answer ends, holding back its last byte till the write is done, so no
 * client can log out before it lands and be logged in again.
 */
export async function logIn(req: Request, user: PasswordlessUser, by: SessionLogin): Promise<void> {
  await call(req, 'regenerate');
  const session = bag(req) as SessionBag;
  session[SESSION_USER_KEY] = user;
  session[SESSION_LOGIN_KEY] = { connection: by.connection, clientId: by.clientId };
  try {
    await call(req, 'save');
  } catch (err) {
    // The save may have landed (a lost reply), and express-session would save the session again
    // when the error's answer ends: the session goes, so the answer sets no cookie and the store
    // keeps no logged-in session for a request that was told it failed.
    delete session[SESSION_USER_KEY];
    delete session[SESSION_LOGIN_KEY];
    await call(req, 'destroy').catch(() => undefined);
    throw err;
  }
}

/**
 * The answer to a login, once `logIn` saved the session. express-session would write the new
 * session to its store a second time when the answer ends (it cannot tell that it was saved,
 * since its id changed), holding back the answer's last byte till that write is done: one more
 * store write per login, and a window in which a logout sent on the early bytes is undone.
 * For the length of the answer's `res.end` the request has no session id, which express-session's end takes
 * as nothing to save, so the answer goes out whole after the only write. The headers are
 * written with the real id (whoever writes them: Node inside express-session's end, or an app's
 * own end wrapper), so express-session sets the new session's cookie as always. An end that
 * express-session runs later (compression mounted after it) sees the id again and writes twice,
 * as before.
 */
export function sendAfterLogin(req: Request, res: Response, value: unknown): void {
  const id = req.sessionID;
  const withoutId = req as { sessionID: unknown };
  const writeHead = res.writeHead;
  const writeHeadWithId = function writeHeadWithSessionId(this: Response, ...args: unknown[]): Response {
    res.writeHead = writeHead;
    req.sessionID = id;
    try {
      return (writeHead as (...a: unknown[]) => Response).apply(this, args);
    } finally {
      withoutId.sessionID = undefined;
    }
  } as Response['writeHead'];
  res.writeHead = writeHeadWithId;
  withoutId.sessionID = undefined;
  try {
    sendJson(res, 200, value);
  } finally {
    req.sessionID = id;
    if (res.writeHead === writeHeadWithId) res.writeHead = writeHead;
  }
}

export async function logOut(req: Request): Promise<void> {
  if (req.session) await call(req, 'destroy');
}

/** What decides whose sessions an instance takes: its connection, its clients, and its user-id key. */
export type SessionOwner = Pick<Config, 'connection' | 'clients' | 'keyring'>;

/**
 * The session's user, when this instance's connection logged it in through a client still
 * configured and enabled. A session logged in by an earlier release, which recorded neither, is
 * taken when its `user_id` is the one this instance gives its number: an upgrade logs nobody
 * out, and an instance with a `userIdSecret` of its own (a staff connection next to a customers
 * one) still refuses the other's sessions.
 */
export function sessionUser(owner: SessionOwner, req: Request): PasswordlessUser | undefined {
  const session = bag(req);
  const value = session?.[SESSION_USER_KEY];
  if (!value || typeof value !== 'object') return undefined;
  const by = session?.[SESSION_LOGIN_KEY];
  if (by === undefined) return isOwnUserId(owner, value as Partial<PasswordlessUser>) ? (value as PasswordlessUser) : undefined;
  if (!by || typeof by !== 'object') return undefined;
  const { connection, clientId } = by as Partial<Record<keyof SessionLogin, unknown>>;
  if (connection !== owner.connection || typeof clientId !== 'string') return undefined;
  return owner.clients.get(clientId)?.enabled === true ? (value as PasswordlessUser) : undefined;
}

function isOwnUserId(owner: SessionOwner, user: Partial<PasswordlessUser>): boolean {
  return typeof user.phone_number === 'string' && user.user_id === owner.keyring.userId(user.phone_number);
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
export function requireAuthMiddleware(owner: SessionOwner): RequestHandler & (() => RequestHandler) {
  function requireAuth(): RequestHandler;
  function requireAuth(req: Request, res: Response, next: NextFunction): void;
  function requireAuth(req?: Request, res?: Response, next?: NextFunction): RequestHandler | void {
    // Called like a factory (`auth.requireAuth()`, as cors() or helmet() are): it is its own
    // middleware, so both spellings work instead of a TypeError at start-up.
    if (req === undefined || res === undefined || next === undefined) return requireAuth as RequestHandler;
    if (!req.session) return sendError(res, fail('noSession'));
    const user = sessionUser(owner, req);
    if (!user) return sendError(res, fail('unauthorized'));
    req.user = user;
    next();
  }
  return requireAuth;
}
