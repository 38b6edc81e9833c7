/**
 * The example app in a real browser: the whole login, a wrong code, the French template
 * chosen by the selector, and the rate-limit message. Screenshots of the main screens go to
 * build/screenshots (and to docs/ with UPDATE_SCREENSHOTS=1, for the README).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
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

describe('example app in Chromium', function () {
  this.timeout(60_000);
  let browser: Browser | undefined;
  let server: Server;
  let base: string;
  let close: () => Promise<void>;

  before(async function () {
    browser = await launchChromium(this);
    const config = readConfig({}, () => {});
    const built = await createApp(config, { print: () => {} });
    close = built.close;
    server = built.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await browser?.close();
    server?.close();
    await close?.();
  });

  async function newPage(width = 800, height = 900): Promise<Page> {
    const context = await (browser as Browser).newContext({ viewport: { width, height } });
    return context.newPage();
  }

  /** Reads the newest code for `to` from the development outbox page, as a person would. */
  async function codeFromOutbox(page: Page, to: string): Promise<{ code: string; body: string }> {
    const outbox = await page.context().newPage();
    await outbox.goto(`${base}/dev/outbox`);
    const message = outbox.locator('.message', { has: outbox.locator('.to', { hasText: to }) }).first();
    const body = (await message.locator('.body').textContent()) ?? '';
    await outbox.close();
    const code = /\d{6}/.exec(body)?.[0];
    assert.ok(code, `no code in the outbox for ${to}: ${body}`);
    return { code, body };
  }

  async function requestCode(page: Page, national: string, options: { country?: string; language?: string } = {}): Promise<void> {
    await page.goto(base);
    if (options.country) await page.getByLabel('Country').selectOption({ label: options.country });
    if (options.language) await page.getByLabel('SMS language').selectOption(options.language);
    await page.getByLabel('Phone number').fill(national);
    await page.getByRole('button', { name: 'Send code' }).click();
  }

  it('logs in end to end: number, code from the outbox, profile, log out', async () => {
    const page = await newPage();
    await page.goto(base);
    await shot(page, 'login');
    await requestCode(page, '415 555 0101', { country: 'United States (+1)' });
    await page.getByLabel('Verification code').waitFor();
    assert.match((await page.getByRole('status').textContent()) ?? '', /\+14155550101/);
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

  it('shows the rate-limit message with the seconds to wait, and keeps the resend button cooling down', async () => {
    const page = await newPage();
    await requestCode(page, '+14155550103');
    await page.getByLabel('Verification code').waitFor();
    assert.equal(await page.getByRole('button', { name: /Resend code/ }).isDisabled(), true);
    await page.getByRole('button', { name: 'Use another number' }).click();
    await page.getByRole('button', { name: 'Send code' }).click();
    const error = page.locator('#phone-error');
    await error.filter({ hasText: 'Too many codes' }).waitFor();
    assert.match((await error.textContent()) ?? '', /Try again in \d+ seconds\./);
    await shot(page, 'rate-limited');
    await page.context().close();
  });

  it('explains an invalid number and fits a phone-sized screen', async () => {
    const page = await newPage(375, 667);
    await requestCode(page, '12');
    await page.locator('#phone-error').filter({ hasText: 'not a mobile number' }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling (overflow ${overflow}px)`);
    await shot(page, 'mobile-invalid-number');
    await page.context().close();
  });
});
