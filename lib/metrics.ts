/**
 * Prometheus metrics through the app's own prom-client `Registry`: the core calls plain
 * methods and never sees prom-client. Without a registry every method is a no-op, so apps
 * without metrics pay nothing (and need not install prom-client).
 *
 * Labels hold outcomes, provider and limit names and at most a country calling code: never a
 * phone number, which would leak and give every number its own time series.
 */
import type { Counter, Histogram, Registry } from 'prom-client';
import { checkObject, keysOf, optionError } from './config/validate';
import { loadPromClient, type PromClientModule } from './prom-client';

/** The parts of a prom-client `Registry` used here, written structurally so that the published types do not need prom-client. */
export interface MetricsRegistry {
  registerMetric(metric: unknown): void;
  getSingleMetric(name: string): unknown;
  metrics(): Promise<string>;
}

export interface MetricsOptions {
  /** A prom-client `Registry` (`new Registry()` or `register`, the global one). */
  registry: MetricsRegistry;
  /** Put before every metric name, e.g. `'myapp_'`. Default `''`. */
  prefix?: string;
}

export type StartOutcome = 'sent' | 'refused' | 'error';
/** `unknown`: no answer in time (or a reset after the request went out): the SMS may still arrive. */
export type SendOutcome = 'ok' | 'failed' | 'refused' | 'unknown';
export type VerifyMetricOutcome = 'ok' | 'invalid' | 'exhausted' | 'refused' | 'error';

/** What the core records. Every method is synchronous and never throws. */
export interface Metrics {
  /** One `POST /passwordless/start` answered. */
  start(outcome: StartOutcome): void;
  /** One attempt to hand a message to a provider, and how long it took. `countryCallingCode` is like `'1'` or `'33'`. */
  send(provider: string, outcome: SendOutcome, seconds: number, countryCallingCode?: string): void;
  /** One verification answered. */
  verify(outcome: VerifyMetricOutcome): void;
  /** One request refused by the rate limit named `limit` (e.g. `sendsPerPhonePerHour`). */
  limitRefusal(limit: string): void;
  /** The fraud guard paused sending. */
  fraudPause(): void;
  /** The code store or the limits failed or did not answer in time (each `store_error` event). */
  storeError(): void;
}

const KNOWN = keysOf<MetricsOptions>()(['registry', 'prefix']);
const START_OUTCOMES: readonly StartOutcome[] = ['sent', 'refused', 'error'];
const VERIFY_OUTCOMES: readonly VerifyMetricOutcome[] = ['ok', 'invalid', 'exhausted', 'refused', 'error'];
/** From a fast API answer (50 ms) to the sender's default timeout (10 s). */
const SEND_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A country calling code is 1 to 3 digits; anything else (a whole number, by mistake) is dropped. */
const CALLING_CODE = /^[1-9]\d{0,2}$/;
/**
 * Provider and limit names are identifiers, with an index for unnamed failover members
 * (`twilio[1]`); anything else becomes `other`, to bound the series.
 */
const NAME_LABEL = /^[A-Za-z][A-Za-z0-9_.:[\]-]{0,63}$/;

function noop(): void {
  // Metrics are off.
}

/** The metrics of an app without a registry: shared, frozen, free. */
const NO_METRICS: Metrics = Object.freeze({
  start: noop,
  send: noop,
  verify: noop,
  limitRefusal: noop,
  fraudPause: noop,
  storeError: noop,
});

function validate(options: MetricsOptions): void {
  checkObject<MetricsOptions>(options, 'metrics', KNOWN, '{ registry, prefix? }', false);
  const registry = options.registry as Partial<MetricsRegistry> | null | undefined;
  const looksLikeRegistry =
    !!registry &&
    typeof registry === 'object' &&
    typeof registry.registerMetric === 'function' &&
    typeof registry.getSingleMetric === 'function' &&
    typeof registry.metrics === 'function';
  if (!looksLikeRegistry)
    throw optionError('metrics.registry', "must be a prom-client Registry (new Registry() or require('prom-client').register).");
  const prefix = options.prefix;
  if (prefix !== undefined && (typeof prefix !== 'string' || !/^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/.test(prefix))) {
    throw optionError(
      'metrics.prefix',
      `must be letters, digits, _ and : not starting with a digit, like "myapp_" (got ${JSON.stringify(prefix)}).`,
    );
  }
}

function sameLabels(actual: unknown, expected: readonly string[]): boolean {
  return Array.isArray(actual) && actual.length === expected.length && expected.every((name) => actual.includes(name));
}

/**
 * The metric `name` of `registry`: the one already there (a second instance on the same
 * registry, which prom-client would refuse to register twice) or a new one.
 */
function metricOf<M>(
  registry: MetricsRegistry,
  name: string,
  type: 'counter' | 'histogram',
  labelNames: readonly string[],
  create: () => M,
): M {
  const existing = registry.getSingleMetric(name) as { type?: unknown; labelNames?: unknown } | undefined;
  if (existing === undefined) return create();
  if (existing.type !== type || !sameLabels(existing.labelNames, labelNames)) {
    throw optionError(
      'metrics.registry',
      `already holds a metric named ${name} that is not a ${type} labelled {${labelNames.join(',')}}. Give this instance another metrics.prefix.`,
    );
  }
  return existing as M;
}

function counter(
  prom: PromClientModule,
  registry: MetricsRegistry,
  name: string,
  help: string,
  labelNames: readonly string[],
): Counter<string> {
  return metricOf(
    registry,
    name,
    'counter',
    labelNames,
    () => new prom.Counter({ name, help, labelNames, registers: [registry as unknown as Registry] }),
  );
}

function histogram(
  prom: PromClientModule,
  registry: MetricsRegistry,
  name: string,
  help: string,
  labelNames: readonly string[],
): Histogram<string> {
  return metricOf(
    registry,
    name,
    'histogram',
    labelNames,
    () => new prom.Histogram({ name, help, labelNames, buckets: SEND_BUCKETS, registers: [registry as unknown as Registry] }),
  );
}

/** `undefined` (no `metrics` option) gives the no-op metrics; prom-client is then never loaded. */
export function createMetrics(options: MetricsOptions | undefined): Metrics {
  if (options === undefined) return NO_METRICS;
  validate(options);
  const prom = loadPromClient();
  const { registry } = options;
  const p = options.prefix ?? '';
  const starts = counter(prom, registry, `${p}passwordless_starts_total`, 'Answered POST /passwordless/start requests, by outcome.', [
    'outcome',
  ]);
  const sends = counter(
    prom,
    registry,
    `${p}passwordless_sms_sends_total`,
    'Messages handed to an SMS provider, by provider, outcome and destination country calling code.',
    ['provider', 'outcome', 'country_code'],
  );
  const sendSeconds = histogram(
    prom,
    registry,
    `${p}passwordless_sms_send_duration_seconds`,
    'Time the SMS provider took to accept or refuse a message.',
    ['provider'],
  );
  const verifies = counter(prom, registry, `${p}passwordless_verifies_total`, 'Answered code verifications, by outcome.', ['outcome']);
  const limitRefusals = counter(prom, registry, `${p}passwordless_limit_refusals_total`, 'Requests refused by a rate limit, by limit.', [
    'limit',
  ]);
  const fraudPauses = counter(prom, registry, `${p}passwordless_fraud_guard_pauses_total`, 'Times the fraud guard paused sending.', []);
  const storeErrors = counter(
    prom,
    registry,
    `${p}passwordless_store_errors_total`,
    'Failures of the code store or the limits (Redis down, slow or refusing), each also a store_error event.',
    [],
  );

  // Every outcome shows from the first scrape, at 0: rate() and alerts need the series to exist.
  for (const outcome of START_OUTCOMES) starts.inc({ outcome }, 0);
  for (const outcome of VERIFY_OUTCOMES) verifies.inc({ outcome }, 0);

  return Object.freeze({
    start(outcome: StartOutcome): void {
      starts.inc({ outcome });
    },
    send(provider: string, outcome: SendOutcome, seconds: number, countryCallingCode?: string): void {
      const providerLabel = NAME_LABEL.test(provider) ? provider : 'other';
      const country = countryCallingCode !== undefined && CALLING_CODE.test(countryCallingCode) ? countryCallingCode : '';
      sends.inc({ provider: providerLabel, outcome, country_code: country });
      // prom-client throws on NaN; a broken clock must not break a login.
      if (Number.isFinite(seconds) && seconds >= 0) sendSeconds.observe({ provider: providerLabel }, seconds);
    },
    verify(outcome: VerifyMetricOutcome): void {
      verifies.inc({ outcome });
    },
    limitRefusal(limit: string): void {
      limitRefusals.inc({ limit: NAME_LABEL.test(limit) ? limit : 'other' });
    },
    fraudPause(): void {
      fraudPauses.inc();
    },
    storeError(): void {
      storeErrors.inc();
    },
  });
}
