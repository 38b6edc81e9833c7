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
 * Whether express-session made this request's session itself because the browser sent no
 * cookie at all: express-session reads the session id only from the Cookie header (or
 * cookie-parser's objects made from it), so such a session's id was drawn during this request
 * and has never left the server. Any cookie, whatever its name or encoding, counts as "maybe a
 * planted id" and gets the full regenerate.
 */
function madeForThisRequest(req: Request): boolean {
  const r = req as Request & { signedCookies?: object; cookies?: object };
  return req.headers.cookie === undefined && isEmpty(r.signedCookies) && isEmpty(r.cookies);
}

function isEmpty(cookies: object | undefined): boolean {
  return cookies === undefined || cookies === null || Object.keys(cookies).length === 0;
}

/** Requests whose session a login regenerated (see `savesAgainAtEnd`). */
const regenerated = new WeakSet<Request>();

/**
 * Whether express-session will write the session once more when the answer ends: it does after
 * every regenerate (it cannot tell the new session was saved already), and holds back the
 * answer's last byte until that write is done. The login saved the session before answering,
 * so its answer can go out whole (see `sendJson`'s `bodyFirst`).
 */
export function savesAgainAtEnd(req: Request): boolean {
  return regenerated.has(req);
}

/**
 * Logs the session in. Regenerating is what makes a planted session id worthless, so a session
 * the browser brought is always regenerated. A session made for this request has an id no one
 * else has seen: regenerating it would only destroy it to draw another, and make
 * express-session write the new one twice (once on our save, once more when the answer ends,
 * holding back the answer's last byte until then), about a sixth of a login's CPU.
 */
export async function logIn(req: Request, user: PasswordlessUser): Promise<void> {
  if (!madeForThisRequest(req)) {
    await call(req, 'regenerate');
    regenerated.add(req);
  }
  (bag(req) as SessionBag)[SESSION_USER_KEY] = user;
  await call(req, 'save');
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
