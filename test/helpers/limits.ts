/** Limits for tests that look at one limit at a time. */
import assert from 'node:assert/strict';
import type { Express } from 'express';
import request from 'supertest';
import { DEFAULTS, outboxSender, type RateLimitOptions, type SmsSender } from '../../lib';
import { PHONE, startBody, verifyBody } from './app';

/** Every count limit off except the ones named: each test then sees one limit at work. */
export function only(limits: RateLimitOptions): RateLimitOptions {
  const off = Object.fromEntries(
    Object.keys(DEFAULTS.rateLimits)
      .filter((k) => k !== 'ipv6Subnet')
      .map((k) => [k, 0]),
  );
  return { ...off, ...limits };
}

/** A refusal by a limit: 429 with the error, and a whole number of seconds in `Retry-After`. */
export function expect429(res: request.Response, error = 'too_many_requests'): number {
  assert.equal(res.status, 429, `${res.status} ${JSON.stringify(res.body)}`);
  assert.equal(res.body.error, error);
  const retryAfter = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter > 0, `Retry-After: ${res.headers['retry-after']}`);
  return retryAfter;
}

/** The address the app sees: X-Forwarded-For, trusted from the loopback (the test client). */
export const trustLoopback = (app: Express) => app.set('trust proxy', 'loopback');

/** A start as the client at `address` (the app must trust the loopback proxy). */
export const start = (app: Express, phone = PHONE, address = '10.0.0.1') =>
  request(app)
    .post('/passwordless/start')
    .set('x-forwarded-for', address)
    .send(startBody({ phone_number: phone }));

/** A verify as the client at `address`. */
export const verify = (app: Express, code: string, phone = PHONE, address = '10.0.0.1') =>
  request(app)
    .post('/passwordless/verify')
    .set('x-forwarded-for', address)
    .send(verifyBody(code, { phone_number: phone }));

/**
 * Sends to the attacker's numbers (+14155551…, `pumped()`) held until `fail()`, then failed as a provider refuses a landline;
 * every other number's SMS goes to `outbox`.
 */
export function heldFailingSender() {
  const outbox = outboxSender();
  let pending: Array<() => void> = [];
  let held = 0;
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const sender: SmsSender = {
    async send(message) {
      if (!message.to.startsWith('+14155551')) return outbox.send(message);
      const released = new Promise<void>((resolve) => pending.push(resolve));
      held += 1;
      for (const w of waiters) if (held >= w.count) w.resolve();
      await released;
      throw Object.assign(new Error('The number is not a mobile number.'), { code: 21614 });
    },
  };
  /** Resolves once `count` sends were held in all (every round counts). */
  const heldAtLeast = (count: number) =>
    held >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve }));
  /** Fails every send held now. */
  const fail = () => {
    for (const release of pending) release();
    pending = [];
  };
  return { sender, outbox, heldAtLeast, fail };
}
