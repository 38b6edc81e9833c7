// The example app: an ordinary Express app that adds SMS login with express-passwordless-sms,
// imported by its package name exactly as your app would.
'use strict';
const path = require('node:path');
const express = require('express');
const session = require('express-session');
const { passwordless, consoleSender, outboxSender, twilioSender, memoryStore, redisStore } = require('express-passwordless-sms');
// The package's own dependency, used by the page to show numbers the way people write them.
const { parsePhoneNumberFromString } = require('libphonenumber-js');
const messages = require('./messages');
const { loginPage, codePage, profilePage, outboxPage } = require('./pages');
const { formRoutes } = require('./forms');
const { securityHeaders } = require('./security-headers');

const CLIENT = { clientId: 'example-web', name: 'Example App' };
const CONNECTION = 'sms';

/** The development sender: keeps messages for /dev/outbox and prints each (its number masked) to the console. */
function developmentSender(print) {
  const outbox = outboxSender({ max: 50 });
  const printer = consoleSender({ write: print });
  return {
    outbox,
    async send(message) {
      await printer.send(message);
      return outbox.send(message);
    },
  };
}

/**
 * The code settings the app gives the package, and the login page repeats to the person
 * ("the 6-digit code … expires in 3 minutes", the resend countdown). `overrides` may change
 * them; 30 s is the package's default resend cooldown.
 */
function codeSettings(overrides) {
  const otp = { length: 6, ttlSeconds: 180, ...overrides.otp };
  const limits = overrides.rateLimits;
  const resendCooldownSeconds = limits === false ? 0 : (limits?.resendCooldownSeconds ?? 30);
  return { otp, page: { length: otp.length, ttlSeconds: otp.ttlSeconds, resendCooldownSeconds } };
}

/** GET /api/phone-format?number=+14155550123 → { e164, national: "(415) 555-0123" }. */
function phoneFormat(req, res) {
  const parsed = typeof req.query.number === 'string' ? parsePhoneNumberFromString(req.query.number) : undefined;
  if (!parsed || !parsed.isValid()) return res.status(400).json({ error: 'Give a valid number in international format as ?number=.' });
  res.json({ e164: parsed.number, national: parsed.formatNational() });
}

/**
 * Builds the app from a config (see config.js). `overrides` lets tests inject a clock or
 * limits; `print` is where the development sender writes.
 */
async function createApp(config, { overrides = {}, print = (line) => console.log(line) } = {}) {
  const closers = [];
  let store = memoryStore();
  let sessionStore;
  if (config.redisUrl) {
    const { createClient } = require('redis');
    const { RedisStore } = require('connect-redis');
    const client = createClient({ url: config.redisUrl });
    client.on('error', (err) => console.error('[example-app] Redis:', err.message));
    await client.connect();
    closers.push(() => client.quit());
    store = redisStore({ client, prefix: `${config.redisPrefix}pwl:` });
    sessionStore = new RedisStore({ client, prefix: `${config.redisPrefix}sess:` });
  }
  const dev = config.twilio ? undefined : developmentSender(print);
  const sender = config.twilio ? twilioSender(config.twilio) : dev;
  const code = codeSettings(overrides);

  const pl = passwordless({
    secret: config.passwordlessSecret,
    sender,
    clients: [CLIENT],
    connection: CONNECTION,
    template: messages.template,
    templates: messages.templates,
    store,
    ...overrides,
    otp: code.otp,
  });
  closers.push(() => pl.close());

  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders());
  if (config.production) app.set('trust proxy', 1);
  app.use(
    session({
      name: 'example.sid',
      store: sessionStore,
      secret: config.sessionSecret,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: config.production },
    }),
  );
  app.use(pl.router);
  app.use(express.static(path.join(__dirname, 'public')));

  app.get('/', (req, res) => {
    if (pl.getUser(req)) return res.redirect('/profile');
    res.type('html').send(loginPage({ clientId: CLIENT.clientId, connection: CONNECTION, devOutbox: Boolean(dev), code: code.page }));
  });
  app.get('/profile', (req, res) => {
    const user = pl.getUser(req);
    if (!user) return res.redirect('/');
    res.type('html').send(profilePage(user));
  });
  // The same login with JavaScript off: plain form posts, answered with pages.
  formRoutes(app, {
    pl,
    client: CLIENT,
    connection: CONNECTION,
    pages: { loginPage, codePage },
    page: { devOutbox: Boolean(dev), code: code.page },
  });
  app.get('/api/phone-format', phoneFormat);
  // The same data as JSON, behind the package's own guard.
  app.get('/api/me', pl.requireAuth, (req, res) => res.json({ user: req.user }));
  if (dev) {
    app.get('/dev/outbox', (_req, res) => res.type('html').send(outboxPage(dev.outbox.messages)));
    app.get('/dev/outbox.json', (_req, res) => res.json({ messages: dev.outbox.messages }));
  }

  return {
    app,
    pl,
    outbox: dev?.outbox,
    async close() {
      for (const close of closers.reverse()) await close();
    },
  };
}

module.exports = { createApp, CLIENT, CONNECTION };
