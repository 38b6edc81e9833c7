import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { outboxSender } from '../../lib';
import { resolveOptions } from '../../lib/config/options';
import { createKeyring } from '../../lib/core/crypto';
import { createLimits, type ResolvedRateLimits } from '../../lib/limits';
import { memoryLimits } from '../../lib/limits/memory';

// Limit keys live as long as their windows (a day) and, in Redis, are shared by instances of
// different releases during a rolling deploy: a release that changed how a key is made would
// start every count from zero. Each kind's key is pinned to its definition here.
describe('limit keys', () => {
  const USER_ID_SECRET = 'a-user-id-secret-that-never-rotates-0123';
  const keyring = createKeyring(['c'.repeat(32)], USER_ID_SECRET);
  // Every limit on: the three that are off by default get a count.
  const config = resolveOptions({
    secret: 'c'.repeat(32),
    userIdSecret: USER_ID_SECRET,
    sender: outboxSender(),
    clients: [{ clientId: 'app-public', name: 'App' }],
    logger: false,
    rateLimits: { sendsPerClientPerDay: 1000, sendsPerDay: 10000, sendsPerPrefixPerHour: 100 },
  });
  const limits = createLimits(config.rateLimits as ResolvedRateLimits, config.fraudGuard, memoryLimits(), keyring);

  /** The definition every limit key has had: the first 16 bytes of HMAC(userIdSecret, ["limit", kind:value]). */
  function keyOf(value: string): string {
    return createHmac('sha256', USER_ID_SECRET)
      .update(JSON.stringify(['limit', value]))
      .digest()
      .subarray(0, 16)
      .toString('base64url');
  }

  it('makes every bucket and fraud-guard key of a start and a verify as before', () => {
    const start = limits.start('203.0.113.7', '+14155550123', 'app-public');
    const byName = Object.fromEntries(start.buckets.map((b) => [b.name, b.key]));
    assert.deepEqual(byName, {
      startsPerIpPerHour: keyOf('ip:203.0.113.7'),
      sendsPerDay: 'all',
      sendsPerClientPerDay: keyOf('client:app-public'),
      sendsPerPrefixPerHour: keyOf('prefix:+1415555'),
      resendCooldownSeconds: keyOf('phone:+14155550123'),
      sendsPerPhonePerHour: keyOf('phone:+14155550123'),
      sendsPerPhonePerDay: keyOf('phone:+14155550123'),
    });
    assert.equal(start.fraud?.key, keyOf('fraud:141555'));
    const verify = limits.verify('203.0.113.7', '+14155550123');
    assert.equal(verify.address?.key, keyOf('ip:203.0.113.7'));
    assert.equal(verify.phone?.key, keyOf('phone:+14155550123'));
    assert.equal(verify.phone?.sub, keyOf('ip:203.0.113.7'));
    const clientAuth = limits.clientAuth('203.0.113.7', 'app-backend');
    assert.equal(clientAuth?.key, keyOf('ip:203.0.113.7'));
    assert.equal(clientAuth?.sub, keyOf('client:app-backend'));
  });

  it('gives each client its own key, also once its key is remembered', () => {
    const first = limits.start('203.0.113.7', '+14155550123', 'app-a').buckets.find((b) => b.name === 'sendsPerClientPerDay');
    const again = limits.start('203.0.113.8', '+14155550124', 'app-a').buckets.find((b) => b.name === 'sendsPerClientPerDay');
    const other = limits.start('203.0.113.7', '+14155550123', 'app-b').buckets.find((b) => b.name === 'sendsPerClientPerDay');
    assert.equal(again?.key, first?.key);
    assert.equal(other?.key, keyOf('client:app-b'));
    assert.notEqual(other?.key, first?.key);
  });
});
