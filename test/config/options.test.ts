import assert from 'node:assert/strict';
import {
  PasswordlessError,
  outboxSender,
  passwordless,
  memoryStore,
  sessionStore,
  consoleSender,
  twilioSender,
  memoryLimits,
  fallbackSender,
  type PasswordlessOptions,
} from '../../lib';
import { CLIENT, SECRET } from '../helpers/app';

function valid(): PasswordlessOptions {
  return { secret: SECRET, sender: outboxSender(), clients: [CLIENT] };
}

function throwsOption(options: unknown, message: RegExp): void {
  assert.throws(
    () => passwordless(options as PasswordlessOptions),
    (err: unknown) => {
      assert.ok(err instanceof PasswordlessError, String(err));
      assert.equal(err.code, 'invalid_option');
      assert.match(err.message, message);
      return true;
    },
  );
}

describe('passwordless(options) validation at construction', () => {
  it('builds with the required options only', async () => {
    const pl = passwordless(valid());
    assert.equal(typeof pl.router, 'function');
    assert.equal(typeof pl.requireAuth, 'function');
    await pl.close();
  });

  it('says to construct a class passed as the sender, and gives a function that has send() no hint to call it', () => {
    class MySender {
      async send() {
        return { id: 'x' };
      }
    }
    assert.throws(() => passwordless({ ...valid(), sender: MySender as never }), /It is a class: pass an instance \(`new MySender\(…\)`\)/);
    const withSend = Object.assign(() => undefined, { send: async () => ({ id: 'x' }) });
    assert.throws(
      () => passwordless({ ...valid(), sender: withSend as never }),
      (err: Error) => /`sender` must be an object with a send\(message\) method/.test(err.message) && !/call it/.test(err.message),
    );
  });

  it('says to call a factory passed uncalled as a fallbackSender member', () => {
    assert.throws(
      () => fallbackSender([consoleSender(), outboxSender as never]),
      /`fallbackSender\(senders\)\[1\]` must be a sender.* call it \(`outboxSender\(…\)`, not `outboxSender`\)/,
    );
  });

  const cases: Array<[string, (o: Record<string, unknown>) => void, RegExp]> = [
    ['a missing secret', (o) => delete o.secret, /`secret` must be a string of at least 32 characters.*openssl rand -base64 32/],
    ['a short secret', (o) => (o.secret = 'short'), /`secret`.*got 5 characters/],
    ['a missing sender', (o) => delete o.sender, /`sender` is required.*twilioSender/],
    ['a sender without send()', (o) => (o.sender = {}), /`sender` must be an object with a send\(message\)/],
    [
      'a sender factory not called',
      (o) => (o.sender = consoleSender),
      /`sender` must be .* It is a function: call it \(`consoleSender\(…\)`, not `consoleSender`\)/,
    ],
    ['a store factory not called', (o) => (o.store = memoryStore), /`store` must be a CodeStore.* call it \(`memoryStore\(…\)`/],
    ['a limit store factory not called', (o) => (o.limitStore = memoryLimits), /`limitStore` must be .* call it \(`memoryLimits\(…\)`/],
    ['missing clients', (o) => delete o.clients, /`clients` must be a non-empty array/],
    ['an empty client list', (o) => (o.clients = []), /`clients` must be a non-empty array/],
    [
      'an allowed origin without a scheme',
      (o) => (o.allowedOrigins = ['app.example.com']),
      /`allowedOrigins` contains "app\.example\.com"; an origin is scheme and host/,
    ],
    [
      'an allowed origin with a wildcard',
      (o) => (o.allowedOrigins = ['https://*.example.com']),
      /`allowedOrigins` contains .*wildcards are not supported/,
    ],
    ['an allowed origin with a query', (o) => (o.allowedOrigins = ['https://app.example.com?x=1']), /`allowedOrigins` contains .*no query/],
    [
      'an allowed origin with a bad port',
      (o) => (o.allowedOrigins = ['https://app.example.com:99999']),
      /`allowedOrigins` contains .*not a valid origin/,
    ],
    [
      'an allowed origin with a path',
      (o) => (o.allowedOrigins = ['https://app.example.com/login']),
      /`allowedOrigins` contains .*without a path/,
    ],
    ['a duplicated client', (o) => (o.clients = [CLIENT, { ...CLIENT }]), /`clients\[1\]\.clientId` repeats "app-public"/],
    ['a client without a name', (o) => (o.clients = [{ clientId: 'a' }]), /`clients\[0\]\.name`/],
    ['a client without an id', (o) => (o.clients = [{ name: 'a' }]), /`clients\[0\]\.clientId`/],
    ['a client with an unknown key', (o) => (o.clients = [{ ...CLIENT, client_secret: 'x' }]), /`clients\[0\]\.client_secret`/],
    [
      'a client with a non-boolean enabled',
      (o) => (o.clients = [{ ...CLIENT, enabled: 'no' }]),
      /`clients\[0\]\.enabled` must be true or false/,
    ],
    [
      'enabledClients that is not a list of ids',
      (o) => (o.enabledClients = 'app-public'),
      /`enabledClients` must be an array of client ids/,
    ],
    [
      'enabledClients that enables none of the clients',
      (o) => (o.enabledClients = ['someone-else']),
      /`enabledClients` enables none of `clients` \("app-public"\), so nobody could log in/,
    ],
    ['an unknown option, with a guess', (o) => (o.templat = 'x'), /`templat` is not an option.*Did you mean `template`/],
    ['an unknown otp option, with a guess', (o) => (o.otp = { maxAttempt: 3 }), /`otp\.maxAttempt`.*Did you mean `otp\.maxAttempts`/],
    ['otp.length below 4', (o) => (o.otp = { length: 3 }), /`otp\.length` must be an integer from 4 to 10 \(got 3\)/],
    ['otp.length above 10', (o) => (o.otp = { length: 11 }), /`otp\.length` must be an integer from 4 to 10/],
    ['otp.length not an integer', (o) => (o.otp = { length: 6.5 }), /`otp\.length`/],
    ['otp.length as a string', (o) => (o.otp = { length: '6' }), /`otp\.length`.*got "6"/],
    ['otp.ttlSeconds below 30', (o) => (o.otp = { ttlSeconds: 29 }), /`otp\.ttlSeconds` must be an integer from 30 to 600/],
    ['otp.ttlSeconds above 600', (o) => (o.otp = { ttlSeconds: 601 }), /`otp\.ttlSeconds`/],
    ['otp.maxAttempts of 0', (o) => (o.otp = { maxAttempts: 0 }), /`otp\.maxAttempts` must be an integer from 1 to 10/],
    ['otp.maxAttempts above 10', (o) => (o.otp = { maxAttempts: 11 }), /`otp\.maxAttempts`/],
    ['otp that is not an object', (o) => (o.otp = 6), /`otp` must be an object/],
    ['a template that does not parse', (o) => (o.template = 'Code {{ code '), /`template` is not a valid Liquid template/],
    ['a template with an unknown filter', (o) => (o.template = '{{ code | nope }}'), /`template`/],
    [
      'a template that never outputs the code',
      (o) => (o.template = 'Hello {{ application.name }}'),
      /`template` never outputs the code. Add \{\{ code \}\}/,
    ],
    [
      'a template longer than an SMS may be (WebOTP line included)',
      (o) => Object.assign(o, { template: `${'x'.repeat(1590)}{{ code }}`, webOtp: { domain: 'example.com' } }),
      /`template` renders to 16\d\d characters, more than the 1600 an SMS may carry/,
    ],
    ['a template that includes a file', (o) => (o.template = "{% include 'etc/passwd' %}{{ code }}"), /`template` fails to render/],
    ['a per-language template that does not parse', (o) => (o.templates = { fr: '{% if %}' }), /`templates\.fr`/],
    ['a per-language template without the code', (o) => (o.templates = { fr: 'Bonjour' }), /`templates\.fr` never outputs the code/],
    ['a bad language tag', (o) => (o.templates = { 'not a tag': '{{ code }}' }), /`templates\.not a tag` is not a language tag/],
    ['an unknown templateSyntax', (o) => (o.templateSyntax = 'mustache'), /`templateSyntax` must be 'liquid' or 'md_with_macros'/],
    [
      'an unknown macro',
      (o) => Object.assign(o, { templateSyntax: 'md_with_macros', template: '@@password@@ @@pasword@@' }),
      /unknown variable @@pasword@@, which would render as empty text. Known variables: @@code@@/,
    ],
    [
      'macros without the code',
      (o) => Object.assign(o, { templateSyntax: 'md_with_macros', template: 'Hi @@application.name@@' }),
      /never outputs the code. Add @@code@@/,
    ],
    ['an empty connection', (o) => (o.connection = ''), /`connection`/],
    ['a store without verify()', (o) => (o.store = { save() {} }), /`store` must be a CodeStore/],
    ['a clock that is not a function', (o) => (o.now = 5), /`now` must be a function/],
    ['a non-boolean allowCrossSite', (o) => (o.allowCrossSite = 'yes'), /`allowCrossSite` must be true or false/],
    ['a logger without warn()', (o) => (o.logger = { info() {}, error() {} }), /`logger` has no warn\(\)/],
    ['rateLimits of the wrong type', (o) => (o.rateLimits = true), /`rateLimits` must be an object/],
    ['a negative rate limit', (o) => (o.rateLimits = { sendsPerPhonePerHour: -1 }), /`rateLimits\.sendsPerPhonePerHour`/],
    ['a misspelt rate limit', (o) => (o.rateLimits = { sendPerPhonePerHour: 3 }), /Did you mean `rateLimits\.sendsPerPhonePerHour`/],
    ['a lower-case country', (o) => (o.allowedCountries = ['us']), /Write it in capitals: "US"/],
    ['an unknown country', (o) => (o.allowedCountries = ['XX']), /not an ISO 3166/],
    ['an empty country list', (o) => (o.allowedCountries = []), /`allowedCountries` must be a non-empty array/],
    ['an unknown number type', (o) => (o.blockedNumberTypes = ['MOBILE_ONLY']), /`blockedNumberTypes`/],
    // The value as given: a string in quotes (it is not the number it reads as), NaN as NaN.
    ['a number given as a string', (o) => (o.otp = { maxAttempts: '3' }), /`otp\.maxAttempts` must be an integer from 1 to 10 \(got "3"\)/],
    ['NaN', (o) => (o.rateLimits = { startsPerIpPerHour: Number.NaN }), /`rateLimits\.startsPerIpPerHour` must be .* \(got NaN\)/],
    // NaN compares false both ways: it would switch the guard off without a word.
    [
      'a NaN conversion rate',
      (o) => (o.fraudGuard = { minConversion: Number.NaN }),
      /`fraudGuard\.minConversion` must be a number from 0 to 1 \(got NaN\)/,
    ],
  ];
  for (const [label, change, message] of cases) {
    it(`throws for ${label}`, () => {
      const options = valid() as unknown as Record<string, unknown>;
      change(options);
      throwsOption(options, message);
    });
  }

  it('throws for options that are not an object', () => throwsOption(undefined, /`options` must be an object/));

  it('validates the store and sender factories too', () => {
    assert.throws(() => memoryStore({ max: 0 }), /memoryStore\.max/);
    assert.throws(() => memoryStore({ maks: 1 } as never), /memoryStore\.maks/);
    assert.throws(() => sessionStore({ ledger: {} as never }), /sessionStore\.ledger/);
    assert.throws(() => outboxSender({ max: -1 }), /outboxSender\.max/);
    // A timeout given as a string is quoted as one: "5000" is not 5000.
    assert.throws(
      () =>
        twilioSender({ accountSid: `AC${'0'.repeat(32)}`, authToken: 'x'.repeat(32), from: '+15005550006', timeoutMs: '5000' as never }),
      /`twilioSender\.timeoutMs` must be an integer number of milliseconds from 100 to 120000 \(got "5000"\)/,
    );
  });

  it('refuses consoleSender in production unless dangerouslyAllowInProduction', async () => {
    const saved = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      assert.throws(() => consoleSender(), /NODE_ENV=production.*twilioSender/);
      const lines: string[] = [];
      const sender = consoleSender({ dangerouslyAllowInProduction: true, write: (line) => lines.push(line) });
      await sender.send({
        to: '+14155550123',
        body: 'code for +14155550123: 123456',
        clientId: 'app',
        language: '',
        request: { ip: '127.0.0.1', userAgent: 'test' },
      });
      assert.equal(lines.length, 1);
      assert.match(lines[0] ?? '', /SMS to \+1\*{8}23 .*: code for \+1\*{8}23: 123456$/);
      assert.doesNotMatch(lines[0] ?? '', /4155550123/, 'the number is masked');
    } finally {
      if (saved === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = saved;
    }
  });
});
