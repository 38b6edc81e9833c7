/**
 * What the README states as rules is checked against the code: the defaults of the options
 * tables against `DEFAULTS`, the language rule's examples against the middleware, and the
 * Quick start's curl commands against a live app.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import request from 'supertest';
import { DEFAULTS, outboxSender, passwordless } from '../lib';
import { lastCode, makeApp, startBody } from './helpers/app';

const readme = fs.readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');

/** The rows of the first table after `heading`, as arrays of cells. */
function table(heading: string): string[][] {
  const start = readme.indexOf(heading);
  assert.ok(start >= 0, `README has ${heading}`);
  const lines = readme.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .replace(/\\\|/g, '¦')
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows;
}

/** A cell's value: its first code span when it opens with one (`fr_FR` (a comment)), without quotes. */
const unquote = (cell: string) => (/^`([^`]*)`/.exec(cell)?.[1] ?? cell).replace(/^'|'$/g, '');

describe('README rules', () => {
  it('states the defaults of DEFAULTS in the options table', () => {
    const rows = new Map(table('## Options').map((r) => [unquote(r[0] as string), r[2] as string]));
    assert.equal(unquote(rows.get('connection') as string), DEFAULTS.connection);
    assert.equal(unquote(rows.get('template') as string), DEFAULTS.template);
    assert.equal(unquote(rows.get('templateSyntax') as string), DEFAULTS.templateSyntax);
    assert.equal(unquote(rows.get('defaultLanguage') as string), DEFAULTS.defaultLanguage);
    for (const [key, value] of Object.entries(DEFAULTS.otp))
      assert.equal(unquote(rows.get(`otp.${key}`) as string), String(value), `otp.${key}`);
    assert.equal(rows.get('blockedNumberTypes'), DEFAULTS.blockedNumberTypes.map((t) => `\`${t}\``).join(', '));
    for (const key of ['disableSignup', 'allowCrossSite', 'sendInBackground'] as const)
      assert.equal(unquote(rows.get(key) as string), String(DEFAULTS[key]), key);
  });

  it('states every rate limit and its default, and nothing else', () => {
    const rows = table('## Limits');
    assert.deepEqual(Object.fromEntries(rows.map((r) => [unquote(r[0] as string), Number(r[1])])), DEFAULTS.rateLimits);
  });

  it('states the fraud guard defaults', () => {
    const rows = table('| `fraudGuard` key');
    const stated = Object.fromEntries(rows.filter((r) => r[1] !== 'none').map((r) => [unquote(r[0] as string), Number(r[1])]));
    assert.deepEqual(stated, DEFAULTS.fraudGuard);
  });

  it('picks the template each example of the language rule names', async () => {
    const rows = table('**The language rule.**');
    assert.ok(rows.length >= 6);
    const templates = { fr: 'FR {{ code }}', 'pt-BR': 'PT {{ code }}' };
    for (const [x, accept, expected] of rows) {
      const t = makeApp({ logger: false, templates });
      const req = request(t.app).post('/passwordless/start');
      if (x) req.set('x-request-language', unquote(x));
      if (accept) req.set('accept-language', unquote(accept as string));
      await req.send(startBody()).expect(200);
      const body = t.outbox.last()?.body ?? '';
      const want = expected?.includes('fr') ? /^FR / : expected?.includes('pt-BR') ? /^PT / : /^Your verification code is/;
      assert.match(body, want, `${x} / ${accept} → ${expected}`);
    }
  });

  it("runs the Quick start's curl commands against the Quick start's app", async () => {
    const outbox = outboxSender();
    const { app, auth } = quickStartApp()({ sender: outbox, logger: false });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const jar = fs.mkdtempSync(path.join(os.tmpdir(), 'pwl-curl-'));
    try {
      const lines = readme
        .slice(readme.indexOf('Try it with curl'))
        .split('\n')
        .filter((l) => l.startsWith('curl '))
        .slice(0, 3);
      assert.equal(lines.length, 3);
      // Asynchronously: the app answering curl runs in this process.
      const run = async (line: string) =>
        (
          await promisify(execFile)('bash', ['-c', line.replace(/http:\/\/localhost:3000/g, base).replace('123456', lastCodeOr(outbox))], {
            cwd: jar,
            encoding: 'utf8',
            timeout: 10_000,
          })
        ).stdout;
      const started = JSON.parse(await run(lines[0] as string));
      assert.equal(started.phone_number, '+14155550123');
      const verified = JSON.parse(await run(lines[1] as string));
      assert.equal(verified.user.phone_number, '+14155550123');
      assert.equal(JSON.parse(await run(lines[2] as string)).phone_number, '+14155550123');
    } finally {
      server.close();
      await auth.close();
      fs.rmSync(jar, { recursive: true, force: true });
    }
  });
});

/** The Quick start's `createApp`, saved as its reader saves it (inside the package, which it requires by name). */
function quickStartApp(): (overrides: object) => { app: express.Express; auth: ReturnType<typeof passwordless> } {
  const section = readme.slice(readme.indexOf('## Quick start'));
  const code = /```js\n([\s\S]*?)^```$/m.exec(section)?.[1];
  assert.ok(code !== undefined && code.startsWith('// app.js\n'), 'the Quick start is app.js');
  const dir = path.resolve(__dirname, '..', 'readme-rules');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'app.js'), code);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(path.join(dir, 'app.js')) as { createApp: ReturnType<typeof quickStartApp> }).createApp;
}

function lastCodeOr(outbox: ReturnType<typeof outboxSender>): string {
  return outbox.messages.length > 0 ? lastCode(outbox) : '123456';
}
