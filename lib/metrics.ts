/** Placeholder until the metrics module lands: the options type and a no-op recorder. */
export interface MetricsOptions {
  registry: unknown;
  prefix?: string;
}
export interface Metrics {
  start(outcome: 'sent' | 'refused' | 'error'): void;
  send(provider: string, outcome: 'ok' | 'failed' | 'refused', seconds: number, countryCallingCode?: string): void;
  verify(outcome: 'ok' | 'invalid' | 'exhausted' | 'refused'): void;
  limitRefusal(limit: string): void;
  fraudPause(): void;
}
const NOOP: Metrics = Object.freeze({ start() {}, send() {}, verify() {}, limitRefusal() {}, fraudPause() {} });
export function createMetrics(options: MetricsOptions | undefined): Metrics {
  void options;
  return NOOP;
}
