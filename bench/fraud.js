// SMS pumping simulation: `node bench/fraud.js`. The login core (resolveOptions + createLogin,
// no HTTP) on an injected clock, with the default limits and fraud guard. Pumped starts go to
// 10 prefixes and are never redeemed; real logins (start, then the right code) go to 50 other
// prefixes. Every request comes from its own address and goes to its own number, so only the
// fraud guard can tell them apart. The events are shuffled (fixed seed) over one hour.
'use strict';
const { resolveOptions } = require('../dist/config/options');
const { createLogin } = require('../dist/core/login');
const { DEFAULTS } = require('..');
const { addressAt } = require('./phones');
const { SECRET, CLIENT } = require('./common');

/** Deterministic PRNG (mulberry32), so every run simulates the same hour. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// 6-digit prefixes (the guard's default): 1 + area + the exchange's first two digits.
const PUMPED = Array.from({ length: 10 }, (_, k) => `1213${50 + k}`);
const REAL = [415, 212, 312, 646, 305].flatMap((area) => Array.from({ length: 10 }, (_, k) => `1${area}${60 + k}`));

async function simulate(name, pumpedStarts, realLogins, seed) {
  const random = prng(seed);
  const sentTo = new Map();
  let codeOf = new Map();
  let now = Date.parse('2026-12-01T00:00:00Z');
  const config = resolveOptions({
    secret: SECRET,
    clients: [CLIENT],
    logger: false,
    now: () => now,
    sender: {
      async send(message) {
        const prefix = message.to.slice(1, 7);
        sentTo.set(prefix, (sentTo.get(prefix) || 0) + 1);
        codeOf.set(message.to, /\d{6}/.exec(message.body)[0]);
        return { id: 'SM0' };
      },
    },
  });
  const login = createLogin(config);
  const client = config.clients.get(CLIENT.clientId);
  // Distinct numbers per prefix: the exchange's last digit and the line count up.
  const used = new Map();
  const numberIn = (prefix) => {
    const n = used.get(prefix) || 0;
    used.set(prefix, n + 1);
    return `+${prefix}${n % 10}${String(Math.floor(n / 10)).padStart(4, '0')}`;
  };
  const events = [...Array(pumpedStarts).fill('pump'), ...Array(realLogins).fill('real')];
  for (let i = events.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [events[i], events[j]] = [events[j], events[i]];
  }
  const step = 3_600_000 / events.length;
  const out = { pumpedSent: 0, pumpedRefused: 0, realRefused: 0, realLoggedIn: 0, refusals: {} };
  let address = 0;
  const request = () => ({ ip: addressAt(address++), userAgent: 'bench', headers: {} });
  for (const kind of events) {
    now += step;
    const prefix = kind === 'pump' ? PUMPED[Math.floor(random() * PUMPED.length)] : REAL[Math.floor(random() * REAL.length)];
    const phone = numberIn(prefix);
    const ip = request();
    try {
      await login.start({ clientId: CLIENT.clientId, connection: 'sms', phoneNumber: phone, request: ip });
      if (kind === 'pump') {
        out.pumpedSent += 1;
        continue;
      }
      // The user types the code a few seconds later, from the same address.
      now += 5_000;
      await login.redeem({ client, phone, code: codeOf.get(phone), request: ip });
      now -= 5_000;
      out.realLoggedIn += 1;
    } catch (err) {
      if (!err || typeof err.status !== 'number') throw err;
      out.refusals[err.code] = (out.refusals[err.code] || 0) + 1;
      if (kind === 'pump') out.pumpedRefused += 1;
      else out.realRefused += 1;
    }
    codeOf = codeOf.size > 10_000 ? new Map() : codeOf;
  }
  const pumpedPerPrefix = PUMPED.map((p) => sentTo.get(p) || 0);
  return {
    name,
    minSends: config.fraudGuard.minSends,
    pumpedStarts,
    pumpedPrefixes: PUMPED.length,
    realLogins,
    realPrefixes: REAL.length,
    ...out,
    pumpedSentPerPrefix: pumpedPerPrefix,
    maxSentPerPumpedPrefix: Math.max(...pumpedPerPrefix),
  };
}

async function main() {
  const d = DEFAULTS.fraudGuard;
  const scenarios = [
    await simulate('1,000 pumped starts + 1,000 real logins', 1000, 1000, 1),
    await simulate('10,000 pumped starts + 1,000 real logins', 10_000, 1000, 2),
  ];
  process.stdout.write(JSON.stringify({ settings: d, scenarios }) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
