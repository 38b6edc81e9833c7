/** A host app as users build it: express-session first, then the passwordless router. */
import request from 'supertest';
import express, { type Express } from 'express';
import session from 'express-session';
import { passwordless, outboxSender, type OutboxSender, type Passwordless, type PasswordlessOptions } from '../../lib';

export const SECRET = 'test-secret-that-is-long-enough-0123456789';
export const PHONE = '+14155550123';
export const OTHER_PHONE = '+14155550124';
export const CLIENT = { clientId: 'app-public', name: 'Acme Web' };
export const CONFIDENTIAL = { clientId: 'app-backend', name: 'Acme Backend', secret: '7c1e9a04d3b85f26e0a4c9d71b3f8e52' };
export const DISABLED = { clientId: 'app-disabled', name: 'Old App', enabled: false };

/** An injectable clock: tests move time instead of sleeping. */
export interface Clock {
  t: number;
  now: () => number;
  advance(ms: number): void;
}

export function makeClock(start = 1_800_000_000_000): Clock {
  const clock: Clock = {
    t: start,
    now: () => clock.t,
    advance(ms: number) {
      clock.t += ms;
    },
  };
  return clock;
}

export interface TestApp {
  app: Express;
  pl: Passwordless;
  outbox: OutboxSender;
  clock: Clock;
  /** How many sessions express-session has stored (its MemoryStore). */
  sessionCount(): Promise<number>;
}

export function makeApp(options: Partial<PasswordlessOptions> = {}, configure?: (app: Express) => void): TestApp {
  const outbox = outboxSender();
  const clock = makeClock();
  const pl = passwordless({
    secret: SECRET,
    sender: outbox,
    clients: [CLIENT, CONFIDENTIAL, DISABLED],
    rateLimits: false,
    now: clock.now,
    ...options,
  } as PasswordlessOptions);
  const app = express();
  configure?.(app);
  const sessions = new session.MemoryStore();
  app.use(session({ store: sessions, secret: 'session-secret', resave: false, saveUninitialized: false, name: 'sid' }));
  app.use(pl.router);
  app.get('/me', pl.requireAuth, (req, res) => {
    res.json({ user: (req as typeof req & { user?: unknown }).user });
  });
  const sessionCount = () => new Promise<number>((resolve) => sessions.length((_err, n) => resolve(n ?? 0)));
  return { app, pl, outbox, clock, sessionCount };
}

export function startBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { client_id: CLIENT.clientId, connection: 'sms', phone_number: PHONE, ...extra };
}

export function verifyBody(code: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { client_id: CLIENT.clientId, connection: 'sms', phone_number: PHONE, verification_code: code, ...extra };
}

/** The code in the newest message (to `to`, if given). */
export function lastCode(outbox: OutboxSender, to?: string): string {
  const message = outbox.last(to);
  const match = message?.body.match(/\d{4,10}/);
  if (!match) throw new Error(`no code in the outbox${to ? ` for ${to}` : ''}`);
  return match[0];
}

/** A browser (supertest agent) logged in on `t` through the routes: a start, then its code. */
export async function loggedInAgent(t: TestApp): Promise<ReturnType<typeof request.agent>> {
  const agent = request.agent(t.app);
  await agent.post('/passwordless/start').send(startBody()).expect(200);
  await agent
    .post('/passwordless/verify')
    .send(verifyBody(lastCode(t.outbox)))
    .expect(200);
  return agent;
}

/** A code of the same length that is certainly not `code`. */
export function wrongCodeFor(code: string): string {
  return code.replace(/^./, (d) => String((Number(d) + 1) % 10));
}

/** The confidential client's own fields, as a backend sends them on start and verify. */
export function backendBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { client_id: CONFIDENTIAL.clientId, client_secret: CONFIDENTIAL.secret, connection: 'sms', phone_number: PHONE, ...extra };
}

/** Auth0's passwordless OTP grant for the confidential client. */
export function otpGrant(otp: string, username = PHONE): Record<string, string> {
  return {
    grant_type: 'http://auth0.com/oauth/grant-type/passwordless/otp',
    client_id: CONFIDENTIAL.clientId,
    client_secret: CONFIDENTIAL.secret,
    username,
    otp,
    realm: 'sms',
  };
}
