/**
 * Structured events for the injected logger. Every event passes through here, so this is
 * the one place that guarantees a phone number is masked; codes are never handed in.
 */
import { maskPhone } from './phone';
import type { Logger } from '../types';

const LEVEL = Object.freeze({
  code_sent: 'info',
  login: 'info',
  test_number_used: 'info',
  delivery_status: 'info',
  login_failed: 'warn',
  rate_limited: 'warn',
  sms_pumping_blocked: 'warn',
  sms_pumping_suspected: 'warn',
  client_auth_failed: 'warn',
  send_failover: 'warn',
  config_warning: 'warn',
  send_failed: 'error',
  store_error: 'error',
  hook_error: 'error',
  internal_error: 'error',
} as const);

export type EventName = keyof typeof LEVEL;

export interface EventFields {
  phone?: string;
  clientId?: string;
  reason?: string;
  /** A provider's error code (e.g. Twilio 21211), never an OTP. */
  code?: string | number;
  limit?: string;
  message?: string;
  provider?: string;
  prefix?: string;
  sends?: number;
  redemptions?: number;
  from?: string;
  to?: string;
  [field: string]: unknown;
}

export function logEvent(logger: Logger, event: EventName, fields: EventFields = {}): void {
  if ((logger as { silent?: boolean }).silent === true) return;
  const { phone, code, ...rest } = fields;
  const entry: Record<string, unknown> = { event, ...rest };
  // Free text (a hook's or a provider's message) can quote a number: masked like `phone`.
  for (const name of ['message', 'reason'] as const) {
    if (typeof entry[name] === 'string') entry[name] = (entry[name] as string).replace(/\+\d{6,15}/g, maskPhone);
  }
  if (phone !== undefined) entry.phone = maskPhone(phone);
  // Named apart so that nothing called `code` ever reaches a log line.
  if (code !== undefined) entry.providerCode = code;
  try {
    logger[LEVEL[event]](entry, `passwordless: ${event}`);
  } catch {
    // A broken logger must not turn a login into a 500.
  }
}

/** Logs at most one event per `intervalMs` under `key` (a refused pump must not flood the log). */
export function throttledLog(intervalMs: number, maxKeys = 1000): (key: string, now: number, log: () => void) => void {
  const last = new Map<string, number>();
  return function throttled(key, now, log) {
    const at = last.get(key);
    if (at !== undefined && now - at < intervalMs) return;
    if (last.size >= maxKeys) last.clear();
    last.set(key, now);
    log();
  };
}

/** Warnings that mean the operator should act, printed by the default logger. */
const OPERATOR_WARNINGS = new Set<string>(['config_warning', 'sms_pumping_suspected', 'send_failover', 'delivery_report_refused']);

/**
 * The logger used when none is given: quiet for routine events, but warnings and errors
 * (a template over one segment, `trust proxy: true`, a provider failing) are written to
 * stderr, each distinct one once, so a misconfiguration is never silent.
 */
export function defaultLogger(write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Logger {
  const seen = new Set<string>();
  const once = (level: string) => (event: Record<string, unknown>) => {
    // A wrong code or a refused resend is a user's everyday mistake, not the operator's concern.
    if (level === 'warning' && !OPERATOR_WARNINGS.has(String(event.event))) return;
    const key = `${String(event.event)}:${String(event.message ?? event.reason ?? '')}`;
    if (seen.has(key) || seen.size > 500) return;
    seen.add(key);
    const { event: name, ...rest } = event;
    write(`express-passwordless-sms ${level}: ${String(name)} ${JSON.stringify(rest)}`);
  };
  return Object.freeze({ info() {}, warn: once('warning'), error: once('error') });
}

/** A logger that drops everything (`logger: false`). */
export const SILENT: Logger = Object.freeze({ silent: true, info() {}, warn() {}, error() {} }) as Logger;
