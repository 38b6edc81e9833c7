/**
 * CORS in a real browser: a page of a listed origin logs in through the routes of another
 * origin with `fetch(..., { credentials: 'include' })`, as an SPA using the package as its
 * auth server does; a page of an origin not listed cannot even send the start (its preflight
 * is not answered), so no SMS goes out.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Browser, Page } from 'playwright-core';
import { CLIENT, PHONE, lastCode, makeApp } from '../helpers/app';
import { launchChromium } from '../helpers/browser';

function listen(app: express.Express): Promise<{ server: Server; origin: string }> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () =>
      resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    );
  });
}

/** A page of its own origin, with nothing on it: the test's script runs in it. */
async function pageServer() {
  return listen(express().get('/', (_req, res) => void res.type('html').send('<!doctype html><title>SPA</title>')));
}

async function post(
  page: Page,
  url: string,
  body: Record<string, unknown>,
): Promise<{ status: number; json: unknown } | { failed: string }> {
  return page.evaluate(
    async ([u, b]) => {
      try {
        const res = await fetch(u as string, {
          method: 'POST',
          credentials: 'include',
          headers: { 'content-type': 'application/json', 'auth0-client': 'eyJuYW1lIjoidGVzdCJ9' },
          body: JSON.stringify(b),
        });
        return { status: res.status, json: await res.json() };
      } catch (err) {
        return { failed: String(err) };
      }
    },
    [url, body] as const,
  );
}

describe('CORS for allowedOrigins in Chromium', function () {
  let browser: Browser | undefined;
  const servers: Server[] = [];
  before(async function () {
    browser = await launchChromium(this);
  });
  after(async () => {
    await browser?.close();
    for (const s of servers) s.close();
  });

  it('logs in from a page of a listed origin with credentials, and refuses a page of another origin before any SMS', async () => {
    const spa = await pageServer();
    const stranger = await pageServer();
    servers.push(spa.server, stranger.server);
    const t = makeApp({ logger: false, allowedOrigins: [spa.origin] });
    const api = await listen(t.app);
    servers.push(api.server);
    const body = { client_id: CLIENT.clientId, connection: 'sms', phone_number: PHONE };

    const page = await (browser as Browser).newPage();
    await page.goto(spa.origin);
    const started = await post(page, `${api.origin}/passwordless/start`, body);
    assert.deepEqual('status' in started ? started.status : started, 200);
    const verified = await post(page, `${api.origin}/passwordless/verify`, { ...body, verification_code: lastCode(t.outbox) });
    assert.deepEqual('status' in verified ? verified.status : verified, 200);
    assert.equal((verified as { json: { user: { phone_number: string } } }).json.user.phone_number, PHONE);

    const sent = t.outbox.messages.length;
    const other = await (browser as Browser).newPage();
    await other.goto(stranger.origin);
    const refused = await post(other, `${api.origin}/passwordless/start`, { ...body, phone_number: '+14155550199' });
    assert.ok('failed' in refused, `another origin read an answer: ${JSON.stringify(refused)}`);
    assert.equal(t.outbox.messages.length, sent, 'no SMS for a page of another origin');
  });
});
