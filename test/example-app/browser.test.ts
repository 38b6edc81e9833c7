/**
 * The example app in a real browser: the whole login, a wrong code, the French template
 * chosen by the selector, the rate-limit messages, resending, the way back to a code already
 * sent, the self-refreshing outbox and the favicon. Screenshots of the main screens go to
 * build/screenshots (and to docs/ with UPDATE_SCREENSHOTS=1, for the README).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser';

// The example app is plain JavaScript that imports the package by name, as users do.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createApp } = require(path.resolve(__dirname, '../../../example-app/app.js'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { readConfig } = require(path.resolve(__dirname, '../../../example-app/config.js'));

const SHOTS = [path.resolve(__dirname, '../../screenshots')];
if (process.env.UPDATE_SCREENSHOTS) SHOTS.push(path.resolve(__dirname, '../../../docs'));

async function shot(page: Page, name: string): Promise<void> {
  for (const dir of SHOTS) {
    fs.mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
  }
}

/** What the app answered, as its server saw it: the browser does not report favicon requests as page traffic. */
interface Answered {
  path: string;
  status: number;
  type: string;
}

describe('example app in Chromium', function () {
  this.timeout(60_000);
  let browser: Browser | undefined;
  let base: string;
  const answered: Answered[] = [];
  const closers: Array<() => Promise<void>> = [];

  /** Starts an example app with package option overrides; every answer it gives lands in `answered`. */
  async function startApp(overrides: Record<string, unknown> = {}): Promise<string> {
    const config = readConfig({}, () => {});
    const built = await createApp(config, { overrides, print: () => {} });
    const recorded = express();
    recorded.use((req, res, next) => {
      res.on('finish', () => answered.push({ path: req.path, status: res.statusCode, type: String(res.getHeader('content-type') ?? '') }));
      next();
    });
    recorded.use(built.app);
    const server: Server = recorded.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    closers.push(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await built.close();
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  before(async function () {
    browser = await launchChromium(this);
    base = await startApp();
  });
  after(async () => {
    await browser?.close();
    for (const close of closers) await close();
  });

  async function newPage(width = 800, height = 900): Promise<Page> {
    const context = await (browser as Browser).newContext({ viewport: { width, height } });
    return context.newPage();
  }

  /** Reads the newest code for `to` from the development outbox page, as a person would. */
  async function codeFromOutbox(page: Page, to: string, from = base): Promise<{ code: string; body: string }> {
    const outbox = await page.context().newPage();
    await outbox.goto(`${from}/dev/outbox`);
    const message = outbox.locator('.message', { has: outbox.locator('.to', { hasText: to }) }).first();
    const body = (await message.locator('.body').textContent()) ?? '';
    await outbox.close();
    const code = /\d{6}/.exec(body)?.[0];
    assert.ok(code, `no code in the outbox for ${to}: ${body}`);
    return { code, body };
  }

  async function requestCode(
    page: Page,
    national: string,
    options: { country?: string; language?: string; app?: string } = {},
  ): Promise<void> {
    await page.goto(options.app ?? base);
    if (options.country) await page.getByLabel('Country').selectOption({ label: options.country });
    if (options.language) await page.getByLabel('SMS language').selectOption(options.language);
    await page.getByLabel('Phone number').fill(national);
    await page.getByRole('button', { name: 'Send code' }).click();
  }

  it('logs in end to end: number, code from the outbox, profile, log out, under a strict Content-Security-Policy', async () => {
    const page = await newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    const policy = (await page.goto(base))?.headers()['content-security-policy'] ?? '';
    assert.match(policy, /script-src 'self'(;|$)/);
    assert.match(policy, /frame-ancestors 'none'/);
    await shot(page, 'login');
    await requestCode(page, '415 555 0101', { country: 'United States (+1)' });
    await page.getByLabel('Verification code').waitFor();
    // The length and lifetime come from the app's options; the number is in its national format.
    assert.equal(
      await page.getByRole('status').textContent(),
      'Enter the 6-digit code we sent to (415) 555-0101. It expires in 3 minutes.',
    );
    assert.equal(await page.getByLabel('Verification code').getAttribute('autocomplete'), 'one-time-code');
    assert.equal(await page.getByLabel('Verification code').getAttribute('inputmode'), 'numeric');
    // Focus moved to the code field, so a keyboard user types straight away.
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'code');
    await shot(page, 'code');
    const { code } = await codeFromOutbox(page, '+14155550101');
    const outbox = await page.context().newPage();
    await outbox.goto(`${base}/dev/outbox`);
    await shot(outbox, 'outbox');
    await outbox.close();
    await page.getByLabel('Verification code').fill(code);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${base}/profile`);
    assert.equal(await page.locator('#profile-phone').textContent(), '+14155550101');
    assert.match((await page.locator('#profile-user-id').textContent()) ?? '', /^sms\|[0-9a-f]{24}$/);
    await shot(page, 'profile');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${base}/`);
    await page.goto(`${base}/profile`);
    assert.equal(page.url(), `${base}/`, 'the profile needs a login again');
    // A script or style the policy refused would show here.
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  it('says so when the code is wrong, in the error tied to the field', async () => {
    const page = await newPage();
    await requestCode(page, '+14155550102');
    await page.getByLabel('Verification code').waitFor();
    const { code } = await codeFromOutbox(page, '+14155550102');
    await page.getByLabel('Verification code').fill(code === '000000' ? '111111' : '000000');
    await page.getByRole('button', { name: 'Log in' }).click();
    const error = page.locator('#code-error');
    await error.filter({ hasText: 'not right' }).waitFor();
    assert.equal(await page.getByLabel('Verification code').getAttribute('aria-invalid'), 'true');
    assert.match((await page.getByLabel('Verification code').getAttribute('aria-describedby')) ?? '', /code-error/);
    await shot(page, 'wrong-code');
    await page.context().close();
  });

  it('sends the French template when French is selected', async () => {
    const page = await newPage();
    await requestCode(page, '6 12 34 56 78', { country: 'France (+33)', language: 'fr' });
    await page.getByLabel('Verification code').waitFor();
    const { body } = await codeFromOutbox(page, '+33612345678');
    assert.match(body, /^Example App : votre code de vérification est \d{6}\. Il expire dans 3 minutes\.$/);
    await page.context().close();
  });

  it("keeps the server's cooldown sentence, and leaves a way back to the code already sent", async () => {
    const page = await newPage();
    await requestCode(page, '+14155550103');
    await page.getByLabel('Verification code').waitFor();
    assert.equal(await page.getByRole('button', { name: /Resend code/ }).isDisabled(), true);
    await page.getByRole('button', { name: 'Use another number' }).click();
    await page.getByRole('button', { name: 'Send code' }).click();
    const error = page.locator('#phone-error');
    await error.filter({ hasText: 'Try again' }).waitFor();
    // The server's own words, which say why, rather than a vaguer "too many codes".
    assert.match((await error.textContent()) ?? '', /^A code was just sent to this number\. Try again in \d+ seconds\.$/);
    await shot(page, 'rate-limited');
    // The number is still in its cooldown, so the way forward is the code already sent.
    await page.getByRole('button', { name: 'I already have a code' }).click();
    assert.equal(await page.locator('#code-form').isVisible(), true);
    assert.match((await page.getByRole('status').textContent()) ?? '', /\(415\) 555-0103/);
    assert.equal(await page.getByRole('button', { name: /Resend code \(\d+ s\)/ }).isDisabled(), true, 'the countdown went on meanwhile');
    const { code } = await codeFromOutbox(page, '+14155550103');
    await page.getByLabel('Verification code').fill(code);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${base}/profile`);
    await page.context().close();
  });

  it('writes a long wait as a duration: "Try again in 1 hour", not in seconds', async () => {
    const app = await startApp({ rateLimits: { resendCooldownSeconds: 0, sendsPerPhonePerHour: 1 } });
    const page = await newPage();
    await requestCode(page, '+14155550104', { app });
    await page.getByLabel('Verification code').waitFor();
    await page.getByRole('button', { name: 'Use another number' }).click();
    await page.getByRole('button', { name: 'Send code' }).click();
    const error = page.locator('#phone-error');
    await error.filter({ hasText: 'Try again' }).waitFor();
    assert.equal(await error.textContent(), 'Too many codes were sent to this number. Try again in 1 hour.');
    await page.context().close();
  });

  it("empties the code field and replaces the status and error when a code is resent, with the app's code length and lifetime", async () => {
    // A code length and lifetime of the app's own choosing, which the page must repeat.
    const app = await startApp({ rateLimits: { resendCooldownSeconds: 1 }, otp: { length: 8, ttlSeconds: 300 } });
    const page = await newPage();
    await requestCode(page, '+14155550105', { app });
    await page.getByLabel('Verification code').waitFor();
    const first = await codeFromOutbox(page, '+14155550105', app);
    await page.getByLabel('Verification code').fill(first.code === '000000' ? '111111' : '000000');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#code-error').filter({ hasText: 'not right' }).waitFor();
    await page.waitForFunction(() => !(document.getElementById('resend') as HTMLButtonElement).disabled);
    await page.getByRole('button', { name: 'Resend code' }).click();
    await page.getByRole('status').filter({ hasText: 'new code' }).waitFor();
    assert.equal(
      await page.getByRole('status').textContent(),
      'We sent a new code. Enter the 8-digit code we sent to (415) 555-0105. It expires in 5 minutes.',
    );
    assert.equal(await page.getByLabel('Verification code').inputValue(), '', 'the old code is gone from the field');
    assert.equal(await page.locator('#code-error').textContent(), '');
    await page.context().close();
  });

  it('refreshes the development outbox by itself', async () => {
    const page = await newPage();
    await page.goto(`${base}/dev/outbox`);
    const message = page.locator('.message', { has: page.locator('.to', { hasText: '+14155550106' }) });
    assert.equal(await message.count(), 0);
    const start = await page.request.post(`${base}/passwordless/start`, {
      data: { client_id: 'example-web', connection: 'sms', phone_number: '+14155550106' },
    });
    assert.equal(start.status(), 200);
    // No reload from the test: the page picks the new message up on its own.
    await message.waitFor({ timeout: 8000 });
    await page.context().close();
  });

  for (const path of ['/', '/dev/outbox']) {
    it(`has a favicon: no 404 and no console error on ${path}`, async () => {
      const page = await newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      const from = answered.length;
      await page.goto(base + path);
      // Chromium asks for the icon after the load; wait until the app has answered it.
      const deadline = Date.now() + 5000;
      while (!answered.slice(from).some((a) => /favicon/.test(a.path)) && Date.now() < deadline) await page.waitForTimeout(50);
      const seen = answered.slice(from);
      const icon = seen.find((a) => /favicon/.test(a.path));
      assert.ok(icon, `the browser asked for no icon: ${JSON.stringify(seen)}`);
      assert.equal(icon.status, 200);
      assert.match(icon.type, /^image\//);
      assert.deepEqual(
        seen.filter((a) => a.status >= 400),
        [],
      );
      assert.deepEqual(errors, []);
      await page.context().close();
    });
  }

  it('explains an invalid number and fits a phone-sized screen', async () => {
    const page = await newPage(375, 667);
    await requestCode(page, '12');
    await page.locator('#phone-error').filter({ hasText: 'not a mobile number' }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling (overflow ${overflow}px)`);
    await shot(page, 'mobile-invalid-number');
    await page.context().close();
  });

  describe('with JavaScript off', () => {
    async function noScriptPage(): Promise<Page> {
      const context = await (browser as Browser).newContext({ viewport: { width: 800, height: 900 }, javaScriptEnabled: false });
      return context.newPage();
    }

    it('logs in with plain form posts: number, code page, wrong code, right code, profile, log out', async () => {
      const page = await noScriptPage();
      await requestCode(page, '415 555 0177', { country: 'United States (+1)', language: 'fr' });
      await page.waitForURL(`${base}/login`);
      assert.equal(
        await page.getByRole('status').textContent(),
        'Enter the 6-digit code we sent to (415) 555-0177. It expires in 3 minutes.',
      );
      const { code, body } = await codeFromOutbox(page, '+14155550177');
      assert.match(body, /votre code de vérification/, 'the chosen language reached the server without the page script');
      const wrong = String((Number(code[0]) + 1) % 10) + code.slice(1);
      await page.getByLabel('Verification code').fill(wrong);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.locator('#code-error').filter({ hasText: 'That code is not right' }).waitFor();
      await page.getByLabel('Verification code').fill(code);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL(`${base}/profile`);
      assert.equal(await page.locator('#profile-phone').textContent(), '+14155550177');
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.waitForURL(`${base}/`);
      await page.getByLabel('Phone number').waitFor();
      await page.context().close();
    });

    it("shows the server's explanation, with the wait as a duration, on the login page", async () => {
      const page = await noScriptPage();
      await requestCode(page, '415 555 0178', { country: 'United States (+1)' });
      await page.waitForURL(`${base}/login`);
      await requestCode(page, '415 555 0178', { country: 'United States (+1)' });
      const error = page.locator('#phone-error');
      await error.filter({ hasText: 'A code was just sent to this number' }).waitFor();
      assert.match((await error.textContent()) ?? '', /Try again in \d+ seconds?\./);
      assert.equal(await page.getByLabel('Phone number').inputValue(), '+1 415 555 0178', 'the number is kept for a correction');
      await requestCode(page, '12');
      await error.filter({ hasText: 'not a valid phone number' }).waitFor();
      await page.context().close();
    });
  });
});
