/**
 * What a developer sees at construction: template typos refused with the known names,
 * documentation secrets refused in production, and warnings that reach stderr when no
 * logger is given.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { passwordless, outboxSender, sessionStore, type PasswordlessOptions } from '../../lib';
import { defaultLogger } from '../../lib/core/log';
import { CLIENT, SECRET, startBody } from '../helpers/app';

function options(extra: Partial<PasswordlessOptions> = {}): PasswordlessOptions {
  return { secret: SECRET, sender: outboxSender(), clients: [CLIENT], ...extra };
}

/** Runs `fn` with process.stderr.write captured. */
async function stderrOf(fn: () => unknown | Promise<unknown>): Promise<string> {
  const original = process.stderr.write.bind(process.stderr);
  let text = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    process.stderr.write = original;
  }
  return text;
}

describe('construction: templates, secrets and warnings', () => {
  it('refuses a Liquid template that names an unknown variable, listing the known ones', () => {
    assert.throws(
      () => passwordless(options({ template: 'Hi {{ aplication.name }} {{ code }}' })),
      /`template` uses the unknown variable \{\{ aplication\.name \}\}, which would render as empty text\. Known variables: \{\{ code \}\}, \{\{ password \}\}, \{\{ phone_number \}\}, \{\{ application\.name \}\}, \{\{ request_language \}\}/,
    );
  });

  it("hints at templateSyntax: 'md_with_macros' for an @@password@@ template under Liquid", () => {
    assert.throws(() => passwordless(options({ template: 'Your code: @@password@@' })), /templateSyntax: 'md_with_macros'/);
  });

  it('refuses the secrets printed in the README and the example app under NODE_ENV=production, saying how to make one', () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      for (const secret of ['dev-only-secret-change-me-0123456789', 'example-app-development-secret-0123456789']) {
        assert.throws(() => passwordless(options({ secret })), /placeholder from the documentation.*openssl rand -base64 32/, secret);
      }
      assert.ok(passwordless(options({ secret: 'kU8q2mV1zP0sR7tW4yX6aB9cD3eF5gH1jK2lM4nO6pQ=' })));
      // Long, but made of nine characters: typed, not generated.
      assert.throws(() => passwordless(options({ secret: 'abcdefghi'.repeat(5) })), /fewer than \d+ distinct characters/);
    } finally {
      process.env.NODE_ENV = previous;
    }
  });

  it('refuses every secret literal of the README and the example app under NODE_ENV=production', () => {
    const root = path.resolve(__dirname, '..', '..', '..');
    const texts = [
      'README.md',
      'example-app/README.md',
      ...fs
        .readdirSync(path.join(root, 'example-app'))
        .filter((f) => f.endsWith('.js'))
        .map((f) => `example-app/${f}`),
    ]
      .map((f) => fs.readFileSync(path.join(root, f), 'utf8'))
      .join('\n');
    const literals = [
      ...new Set([...texts.matchAll(/['"`]([^'"`\s]{32,})['"`]/g)].map((m) => m[1] as string).filter((v) => /secret/i.test(v))),
    ];
    assert.ok(literals.length >= 2, `found ${literals.join(', ')}`);
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      for (const secret of literals) assert.throws(() => passwordless(options({ secret })), /placeholder from the documentation/, secret);
    } finally {
      process.env.NODE_ENV = previous;
    }
  });

  it('writes warnings to stderr once each when no logger is given', async () => {
    const text = await stderrOf(() => {
      passwordless(options({ template: `${'A long message. '.repeat(12)}{{ code }}` }));
    });
    assert.match(text, /express-passwordless-sms warning: config_warning .*renders to 2 SMS segments/);
  });

  it('writes the trust proxy warning to stderr once, and nothing for routine events', async () => {
    const pl = passwordless(options({ rateLimits: false }));
    const app = express();
    app.set('trust proxy', true);
    app.use(session({ secret: 's', resave: false, saveUninitialized: false })).use(pl.router);
    const text = await stderrOf(async () => {
      await request(app).post('/passwordless/start').send(startBody()).expect(200);
      await request(app).post('/passwordless/start').send(startBody()).expect(200);
    });
    assert.equal(text.match(/trust proxy/g)?.length, 1, text);
    assert.doesNotMatch(text, /code_sent/);
  });

  it('warns about trust proxy once per router, whichever of its routes the requests reach', async () => {
    const warnings: string[] = [];
    const logger = { warn: (e: { message?: string }) => warnings.push(String(e.message)), info: () => undefined, error: () => undefined };
    const pl = passwordless(options({ logger, rateLimits: false, tokens: { issuer: 'https://auth.example.com/' } }));
    const app = express();
    app.set('trust proxy', true);
    app.use(session({ secret: 's', resave: false, saveUninitialized: false })).use(pl.router);
    await request(app).post('/passwordless/start').send(startBody()).expect(200);
    await request(app).post('/oauth/token').type('form').send({ grant_type: 'http://auth0.com/oauth/grant-type/passwordless/otp' });
    await request(app)
      .post('/passwordless/verify')
      .send(startBody({ verification_code: '000000' }));
    assert.equal(warnings.filter((w) => /trust proxy/.test(w)).length, 1, warnings.join('\n'));
  });

  it('warns once when a proxy on a private address forwards requests that trust proxy does not trust', async () => {
    const proxyWarnings = async (trust: unknown, forwarded: boolean, peer?: string) => {
      const warnings: string[] = [];
      const logger = { warn: (e: { message?: string }) => warnings.push(String(e.message)), info: () => undefined, error: () => undefined };
      const pl = passwordless(options({ logger, rateLimits: false }));
      const app = express();
      if (trust !== undefined) app.set('trust proxy', trust);
      // A peer on a public address: a client, which may send the header itself.
      if (peer)
        app.use((req, _res, next) => next(void Object.defineProperty(req.socket, 'remoteAddress', { value: peer, configurable: true })));
      app.use(session({ secret: 's', resave: false, saveUninitialized: false })).use(pl.router);
      for (const n of [1, 2]) {
        const req = request(app).post('/passwordless/start');
        if (forwarded) req.set('x-forwarded-for', `203.0.113.${n}`);
        await req.send(startBody()).expect(200);
      }
      return warnings.filter((w) => /X-Forwarded-For/.test(w));
    };
    const untrusted = await proxyWarnings(undefined, true);
    assert.equal(untrusted.length, 1);
    assert.match(untrusted[0] as string, /from (::ffff:)?127\.0\.0\.1, a private address.*app\.set\('trust proxy', 1\)/);
    assert.deepEqual(await proxyWarnings(undefined, true, '203.0.113.9'), []);
    assert.deepEqual(await proxyWarnings('loopback', true), []);
    // A setting that leaves the proxy out (here the app trusts only 10.0.0.0/8) is warned about too.
    assert.equal((await proxyWarnings('10.0.0.0/8', true)).length, 1);
    assert.deepEqual(await proxyWarnings(undefined, false), []);
  });

  it('warns once when a public address forwards for many clients that trust proxy does not trust (a CDN left out)', async () => {
    const warningsAfter = async (clients: number, trust?: unknown) => {
      const warnings: string[] = [];
      const logger = { warn: (e: { message?: string }) => warnings.push(String(e.message)), info: () => undefined, error: () => undefined };
      const pl = passwordless(options({ logger, rateLimits: false }));
      const app = express();
      if (trust !== undefined) app.set('trust proxy', trust);
      // A CDN's edge: a public address, forwarding for client after client.
      app.use((req, _res, next) =>
        next(void Object.defineProperty(req.socket, 'remoteAddress', { value: '198.51.100.7', configurable: true })),
      );
      app.use(session({ secret: 's', resave: false, saveUninitialized: false })).use(pl.router);
      for (let n = 0; n < clients; n += 1) {
        await request(app)
          .post('/passwordless/start')
          .set('x-forwarded-for', `203.0.113.${n % 250}`)
          .send(startBody({ phone_number: `+1415555${String(1000 + n)}` }))
          .expect(200);
      }
      return warnings.filter((w) => /X-Forwarded-For/.test(w));
    };
    const many = await warningsAfter(25);
    assert.equal(many.length, 1, many.join('\n'));
    assert.match(many[0] as string, /requests from 198\.51\.100\.7: a public address that forwarded for 20 different clients .*CDN/);
    assert.deepEqual(await warningsAfter(19), []);
    assert.deepEqual(await warningsAfter(25, '198.51.100.0/24'), []);
  });

  it('warns once when a secure session cookie meets plain HTTP, where express-session sets no cookie', async () => {
    const warnings: string[] = [];
    const logger = { warn: (e: { message?: string }) => warnings.push(String(e.message)), info: () => undefined, error: () => undefined };
    const cookieWarnings = () => warnings.filter((w) => /cookie\.secure/.test(w)).length;
    // sessionStore: a start writes the session (its code binding), so a cookie is due on every answer.
    const appWith = (sessionOptions: Partial<session.SessionOptions>, trustProxy?: number) => {
      const app = express();
      if (trustProxy !== undefined) app.set('trust proxy', trustProxy);
      const pl = passwordless(options({ rateLimits: false, logger, store: sessionStore() }));
      return app.use(session({ secret: 's', resave: false, saveUninitialized: false, ...sessionOptions })).use(pl.router);
    };
    const start = (app: express.Express, forwardedProto?: string) => {
      const r = request(app).post('/passwordless/start');
      return (forwardedProto ? r.set('X-Forwarded-Proto', forwardedProto) : r).send(startBody()).expect(200);
    };
    const cookieSet = (res: request.Response) => res.headers['set-cookie'] !== undefined;

    // Plain HTTP: no cookie, one warning for two requests; a string 'false' is "on" to express-session too.
    const insecure = appWith({ cookie: { secure: true } });
    assert.equal(cookieSet(await start(insecure)), false);
    await start(insecure);
    assert.equal(cookieWarnings(), 1, warnings.join('\n'));
    warnings.length = 0;
    assert.equal(cookieSet(await start(appWith({ cookie: { secure: 'false' as unknown as boolean } }))), false);
    assert.equal(cookieWarnings(), 1, warnings.join('\n'));

    // HTTPS as Express sees it (trust proxy), as express-session sees it (proxy: true), or 'auto':
    // the cookie is set, and nothing is said.
    warnings.length = 0;
    assert.equal(cookieSet(await start(appWith({ cookie: { secure: true } }, 1), 'https')), true);
    assert.equal(cookieSet(await start(appWith({ cookie: { secure: true }, proxy: true }), 'https')), true);
    assert.equal(cookieSet(await start(appWith({ cookie: { secure: 'auto' } }))), true);
    assert.equal(cookieWarnings(), 0, warnings.join('\n'));
  });

  it("prints each distinct operator warning and error once, and none of users' everyday mistakes", () => {
    const lines: string[] = [];
    const logger = defaultLogger((line) => lines.push(line));
    for (let i = 0; i < 3; i += 1) logger.warn({ event: 'config_warning', message: 'x' });
    logger.warn({ event: 'rate_limited', limit: 'resendCooldownSeconds' });
    logger.warn({ event: 'login_failed', reason: 'invalid_code' });
    logger.error({ event: 'send_failed', reason: '502 sms_provider_error' });
    logger.info({ event: 'code_sent' });
    assert.equal(lines.length, 2);
    assert.match(lines[0] as string, /warning: config_warning/);
    assert.match(lines[1] as string, /error: send_failed/);
  });

  it("prints a provider's failure again when its code changes (a 503 blip, then a rotated auth token's 20003)", () => {
    const lines: string[] = [];
    const logger = defaultLogger((line) => lines.push(line));
    for (const providerCode of ['HTTP 503', 'HTTP 503', '20003'])
      logger.error({ event: 'send_failed', reason: '502 sms_provider_error', providerCode });
    assert.deepEqual(
      lines.map((l) => /"providerCode":"([^"]+)"/.exec(l)?.[1]),
      ['HTTP 503', '20003'],
    );
  });

  it('prints each paused prefix apart, and a warning again after an hour, never stopping after many', () => {
    const lines: string[] = [];
    let t = 0;
    const logger = defaultLogger(
      (line) => lines.push(line),
      () => t,
    );
    for (const prefix of ['336123', '336124', '336123']) logger.warn({ event: 'sms_pumping_suspected', prefix, sends: 100 });
    assert.deepEqual(
      lines.map((l) => /"prefix":"(\d+)"/.exec(l)?.[1]),
      ['336123', '336124'],
    );
    t = 3_599_999;
    logger.warn({ event: 'sms_pumping_suspected', prefix: '336123', sends: 100 });
    assert.equal(lines.length, 2);
    t = 3_600_000;
    logger.warn({ event: 'sms_pumping_suspected', prefix: '336123', sends: 100 });
    assert.equal(lines.length, 3);
    for (let i = 0; i < 600; i += 1) logger.error({ event: 'store_error', message: `distinct ${i}` });
    assert.equal(lines.length, 603);
    // Its memory is bounded: past 500 distinct lines it starts over, so a line printed before
    // then prints again, within the hour (never held in memory for good).
    logger.warn({ event: 'sms_pumping_suspected', prefix: '336123', sends: 100 });
    assert.equal(lines.length, 604);
  });

  it('warns mid-rotation that removing the last secret would change user ids, until userIdSecret is set', async () => {
    const other = `${SECRET}-next`;
    const rotating = await stderrOf(() => passwordless(options({ secret: [other, SECRET] })));
    assert.match(rotating, /config_warning .*`userIdSecret` is not set: user ids and limit keys come from `secret\[1\]`/);
    const kept = await stderrOf(() => passwordless(options({ secret: [other, SECRET], userIdSecret: SECRET })));
    assert.equal(kept, '');
  });

  it('stays silent with logger: false', async () => {
    const text = await stderrOf(() => passwordless(options({ logger: false, template: `${'A long message. '.repeat(12)}{{ code }}` })));
    assert.equal(text, '');
  });
});
