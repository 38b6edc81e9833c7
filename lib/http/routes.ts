/**
 * The session routes: start, verify and logout, each translating HTTP to the login core
 * and its outcome back to Auth0's wire format. They hold no login logic.
 */
import type { Request, Response } from 'express';
import { fail, isOutcomeUnknown } from '../errors';
import type { Login } from '../core/login';
import { logEvent } from '../core/log';
import type { PasswordlessUser } from '../core/users';
import { isSessionBound } from '../stores/session';
import { field, forwardedFor, readBody, requestInfo, type OtherProperties } from './request';
import { sendJson } from './respond';
import { binding, keepBinding, logIn, logOut, sendAfterLogin } from './session';

const START_FIELDS = ['client_id', 'connection', 'phone_number', 'send', 'client_secret', 'authParams'] as const;
const VERIFY_FIELDS = ['client_id', 'connection', 'phone_number', 'verification_code', 'client_secret'] as const;

/** What start answers: Auth0's body. */
export interface StartAnswer {
  _id: string;
  phone_number: string;
  request_language: string;
}

/** The browser binding for `sessionStore` (undefined with the other stores). */
export function bindingOf(login: Login, req: Request, create: boolean): string | undefined {
  const store = login.config.store;
  if (!isSessionBound(store)) return undefined;
  // No binding yet on a verify: a key no code can have, so a foreign browser gets the wrong-code answer.
  return binding(req, store.sessionBinding.sessionKey, create) ?? (create ? undefined : 'unbound');
}

export async function startFromRequest(login: Login, req: Request, others: OtherProperties = 'refuse'): Promise<StartAnswer> {
  const body = readBody(req, START_FIELDS, others);
  const bound = bindingOf(login, req, true);
  const store = login.config.store;
  const keep = () => {
    if (bound !== undefined && isSessionBound(store)) keepBinding(req, store.sessionBinding.sessionKey, bound);
  };
  let result: Awaited<ReturnType<Login['start']>>;
  try {
    result = await login.start({
      clientId: field(body, 'client_id'),
      connection: field(body, 'connection'),
      clientSecret: field(body, 'client_secret'),
      phoneNumber: field(body, 'phone_number'),
      send: field(body, 'send'),
      authParams: field(body, 'authParams'),
      forwardedFor: forwardedFor(req),
      request: requestInfo(req),
      binding: bound,
    });
  } catch (err) {
    // A send that may still arrive keeps its code, which only this browser's binding reaches.
    if (isOutcomeUnknown(err)) keep();
    throw err;
  }
  keep();
  return { _id: result.id, phone_number: result.phoneNumber, request_language: result.requestLanguage };
}

export function readCode(value: unknown, parameter: string): string {
  // Sent, but as a number (front-end code often does): said so, not called missing.
  if (value !== undefined && value !== null && typeof value !== 'string') throw fail('codeNotString', { name: parameter });
  if (typeof value !== 'string' || value.trim() === '') throw fail('missingCode', { name: parameter });
  return value.trim();
}

/** Redeems the code of a verify request and logs the session in. */
export async function verifyFromRequest(login: Login, req: Request, others: OtherProperties = 'refuse'): Promise<PasswordlessUser> {
  const body = readBody(req, VERIFY_FIELDS, others);
  const info = requestInfo(req);
  const client = await login.authenticate(
    { clientId: field(body, 'client_id'), connection: field(body, 'connection'), clientSecret: field(body, 'client_secret') },
    info.ip,
  );
  const phone = login.readPhone(field(body, 'phone_number'), false).e164;
  const code = readCode(field(body, 'verification_code'), 'verification_code');
  const { user } = await login.redeem({
    client,
    phone,
    code,
    request: info,
    forwardedFor: forwardedFor(req),
    binding: bindingOf(login, req, false),
  });
  await logIn(req, user, { connection: login.config.connection, clientId: client.clientId });
  logEvent(login.config.logger, 'login', { phone, clientId: client.clientId });
  return user;
}

export function startRoute(login: Login) {
  return async function start(req: Request, res: Response): Promise<void> {
    sendJson(res, 200, await startFromRequest(login, req));
  };
}

export function verifyRoute(login: Login) {
  return async function verify(req: Request, res: Response): Promise<void> {
    const user = await verifyFromRequest(login, req);
    sendAfterLogin(req, res, { user });
  };
}

export function logoutRoute() {
  return async function logout(req: Request, res: Response): Promise<void> {
    await logOut(req);
    res.status(204).end();
  };
}
