import assert from 'node:assert/strict';
import Module from 'node:module';
import { Registry, Gauge } from 'prom-client';
import { PasswordlessError } from '../lib';
import { createMetrics } from '../lib/metrics';

/** The value of one series (`name` as scraped: a histogram's `_bucket`, `_sum`, `_count`), read back from the registry. */
async function valueOf(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const values = (await registry.getMetricsAsJSON()).flatMap((m) =>
    m.values.map((v) => ({ ...v, series: (v as { metricName?: string }).metricName ?? m.name })),
  );
  const series = values.find((v) => {
    if (v.series !== name) return false;
    const actual = v.labels as Record<string, string | number>;
    return (
      Object.keys(labels).length === Object.keys(actual).length && Object.entries(labels).every(([k, value]) => String(actual[k]) === value)
    );
  });
  return series?.value;
}

function isOptionError(pattern: RegExp) {
  return (err: unknown) => err instanceof PasswordlessError && err.code === 'invalid_option' && pattern.test(err.message);
}

describe('metrics', () => {
  let registry: Registry;
  beforeEach(() => {
    registry = new Registry();
  });

  it('counts starts by outcome, with every outcome present from the start', async () => {
    const metrics = createMetrics({ registry });
    assert.equal(await valueOf(registry, 'passwordless_starts_total', { outcome: 'refused' }), 0);
    metrics.start('sent');
    metrics.start('sent');
    metrics.start('error');
    assert.equal(await valueOf(registry, 'passwordless_starts_total', { outcome: 'sent' }), 2);
    assert.equal(await valueOf(registry, 'passwordless_starts_total', { outcome: 'error' }), 1);
    assert.equal(await valueOf(registry, 'passwordless_starts_total', { outcome: 'refused' }), 0);
  });

  it('counts sends by provider, outcome and country calling code, and times them by provider', async () => {
    const metrics = createMetrics({ registry });
    metrics.send('twilio', 'ok', 0.2, '1');
    metrics.send('twilio', 'failed', 3, '33');
    assert.equal(await valueOf(registry, 'passwordless_sms_sends_total', { provider: 'twilio', outcome: 'ok', country_code: '1' }), 1);
    assert.equal(await valueOf(registry, 'passwordless_sms_sends_total', { provider: 'twilio', outcome: 'failed', country_code: '33' }), 1);
    assert.equal(await valueOf(registry, 'passwordless_sms_send_duration_seconds_count', { provider: 'twilio' }), 2);
    assert.equal(await valueOf(registry, 'passwordless_sms_send_duration_seconds_sum', { provider: 'twilio' }), 3.2);
    assert.equal(await valueOf(registry, 'passwordless_sms_send_duration_seconds_bucket', { provider: 'twilio', le: '0.25' }), 1);
    assert.equal(await valueOf(registry, 'passwordless_sms_send_duration_seconds_bucket', { provider: 'twilio', le: '0.05' }), 0);
    assert.equal(await valueOf(registry, 'passwordless_sms_send_duration_seconds_bucket', { provider: 'twilio', le: '10' }), 2);
  });

  it('counts verifications by outcome', async () => {
    const metrics = createMetrics({ registry });
    metrics.verify('invalid');
    metrics.verify('invalid');
    metrics.verify('exhausted');
    assert.equal(await valueOf(registry, 'passwordless_verifies_total', { outcome: 'invalid' }), 2);
    assert.equal(await valueOf(registry, 'passwordless_verifies_total', { outcome: 'exhausted' }), 1);
    assert.equal(await valueOf(registry, 'passwordless_verifies_total', { outcome: 'ok' }), 0);
  });

  it('counts limit refusals by limit, and fraud guard pauses', async () => {
    const metrics = createMetrics({ registry });
    metrics.limitRefusal('sendsPerPhonePerHour');
    metrics.fraudPause();
    metrics.fraudPause();
    assert.equal(await valueOf(registry, 'passwordless_limit_refusals_total', { limit: 'sendsPerPhonePerHour' }), 1);
    assert.equal(await valueOf(registry, 'passwordless_fraud_guard_pauses_total'), 2);
  });

  it('puts the prefix before every name', async () => {
    createMetrics({ registry, prefix: 'myapp_' }).start('sent');
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
    assert.equal(names.length, 7);
    for (const name of names) assert.match(name, /^myapp_passwordless_/);
    assert.equal(await valueOf(registry, 'myapp_passwordless_starts_total', { outcome: 'sent' }), 1);
  });

  it('never puts a phone number in a label', async () => {
    const metrics = createMetrics({ registry });
    metrics.send('twilio', 'ok', 0.1, '+14155550123');
    metrics.send('+14155550123', 'ok', 0.1, '14155550123');
    metrics.limitRefusal('+14155550123');
    const text = await registry.metrics();
    assert.doesNotMatch(text, /\+?\d{7,}/);
    assert.equal(await valueOf(registry, 'passwordless_sms_sends_total', { provider: 'twilio', outcome: 'ok', country_code: '' }), 1);
    assert.equal(await valueOf(registry, 'passwordless_sms_sends_total', { provider: 'other', outcome: 'ok', country_code: '' }), 1);
    assert.equal(await valueOf(registry, 'passwordless_limit_refusals_total', { limit: 'other' }), 1);
  });

  it('does not throw on a send time that is not a number', async () => {
    const metrics = createMetrics({ registry });
    metrics.send('twilio', 'ok', Number.NaN, '1');
    assert.equal(await valueOf(registry, 'passwordless_sms_sends_total', { provider: 'twilio', outcome: 'ok', country_code: '1' }), 1);
    assert.equal(await valueOf(registry, 'passwordless_sms_send_duration_seconds_count', { provider: 'twilio' }), undefined);
  });

  it('lets a second instance use the same registry, both counting into the same series', async () => {
    const a = createMetrics({ registry });
    const b = createMetrics({ registry });
    a.start('sent');
    b.start('sent');
    assert.equal(await valueOf(registry, 'passwordless_starts_total', { outcome: 'sent' }), 2);
  });

  it('refuses a registry that holds another kind of metric under one of the names', () => {
    new Gauge({ name: 'passwordless_starts_total', help: 'x', labelNames: ['outcome'], registers: [registry] });
    assert.throws(() => createMetrics({ registry }), isOptionError(/metrics\.registry.*passwordless_starts_total.*metrics\.prefix/));
  });

  it('is a frozen no-op without options, and registers nothing', async () => {
    const metrics = createMetrics(undefined);
    assert.ok(Object.isFrozen(metrics));
    metrics.start('sent');
    metrics.send('twilio', 'ok', 0.1, '1');
    metrics.verify('ok');
    metrics.limitRefusal('sendsPerDay');
    metrics.fraudPause();
    assert.deepEqual(await registry.getMetricsAsJSON(), []);
    assert.equal(createMetrics(undefined), metrics);
  });

  describe('options', () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['no registry', {}, /metrics\.registry.*prom-client Registry/],
      ['a registry that is not one', { registry: { metrics: () => '' } }, /metrics\.registry/],
      ['an unknown key', { registry: new Registry(), prefx: 'a_' }, /metrics\.prefx.*not an option/],
      ['a prefix that is not a metric name', { registry: new Registry(), prefix: '1-app' }, /metrics\.prefix/],
      ['not an object', 'registry', /`metrics`/],
    ];
    for (const [label, options, message] of cases) {
      it(`throws for ${label}`, () => {
        assert.throws(() => createMetrics(options as never), isOptionError(message));
      });
    }
  });

  it('names prom-client and how to install it when it is missing', () => {
    const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
    const original = loader._load;
    loader._load = function withoutPromClient(this: unknown, request: string, ...rest: unknown[]) {
      if (request === 'prom-client') throw Object.assign(new Error("Cannot find module 'prom-client'"), { code: 'MODULE_NOT_FOUND' });
      return original.call(this, request, ...rest);
    };
    // Fresh copies of the modules, which have not loaded prom-client yet.
    const paths = [require.resolve('../lib/metrics'), require.resolve('../lib/prom-client')];
    const cached = paths.map((p) => require.cache[p]);
    for (const p of paths) delete require.cache[p];
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const fresh = require('../lib/metrics') as typeof import('../lib/metrics');
      assert.throws(() => fresh.createMetrics({ registry }), isOptionError(/metrics\.registry.*npm install prom-client/));
    } finally {
      loader._load = original;
      paths.forEach((p, i) => {
        require.cache[p] = cached[i];
      });
    }
  });
});
