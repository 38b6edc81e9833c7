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

type Level = (typeof LEVEL)[EventName];

/**
 * This module's own loggers (the default one, `logger: false`) say which events they print,
 * so that the events they would drop cost no entry and no masking (a symbol: no user's logger
 * can carry it by accident).
 */
const WANTS = Symbol('express-passwordless-sms logger filter');
interface Selective {
  [WANTS](event: string, level: Level): boolean;
}

/**
 * A number in free text: compact E.164, or seven digits or more with up to three spaces, dots,
 * slashes, dashes (any Unicode hyphen or dash) or brackets between them.
 */
const NUMBER_IN_TEXT = /\+?\d(?:[\s()./\u2010-\u2015-]{0,3}\d){6,}/g;
const COMPACT_E164 = /^\+\d{6,15}$/;
/** An IPv4 address: octets 0-255 without leading zeros. */
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * Masks the numbers a free text (a hook's or a provider's message) quotes: compact E.164 as
 * `phone` fields are masked, any other run of 7+ digits (`(415) 555-4466`, `14155554466`) down
 * to its last two digits. An id or a date may be masked with them: a log line loses a detail,
 * never a number.
 */
export function maskNumbersIn(text: string): string {
  return text.replace(NUMBER_IN_TEXT, (found, offset: number) => {
    // A server's address and port (a Redis node in an error) stays readable; a number written
    // with dots (Swiss, Belgian: 079.123.45.67) has no port after it.
    if (text[offset + found.length] === ':' && IPV4.test(found)) return found;
    return COMPACT_E164.test(found) ? maskPhone(found) : found.replace(/\d(?=(?:\D*\d){2})/g, '*');
  });
}

export function logEvent(logger: Logger, event: EventName, fields: EventFields = {}): void {
  const level = LEVEL[event];
  if ((logger as Partial<Selective>)[WANTS]?.(event, level) === false) return;
  const { phone, code, ...rest } = fields;
  const entry: Record<string, unknown> = { event, ...rest };
  // Free text (a hook's or a provider's message) can quote a number: masked like `phone`.
  for (const name of ['message', 'reason'] as const) {
    if (typeof entry[name] === 'string') entry[name] = maskNumbersIn(entry[name] as string);
  }
  if (phone !== undefined) entry.phone = maskPhone(phone);
  // Named apart so that nothing called `code` ever reaches a log line.
  if (code !== undefined) entry.providerCode = code;
  try {
    logger[level](entry, `passwordless: ${event}`);
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
const OPERATOR_WARNINGS = new Set<string>([
  'config_warning',
  'sms_pumping_suspected',
  'send_failover',
  'delivery_report_refused',
  'delivery_report_ignored',
]);

/** How long the default logger stays quiet about a warning or error it has printed. */
const REPEAT_AFTER_MS = 3_600_000;
/** Distinct warnings and errors remembered; past this the memory starts over (more lines, never none). */
const MAX_REMEMBERED = 500;

/**
 * The logger used when none is given: quiet for routine events, but warnings and errors
 * (a template over one segment, `trust proxy: true`, a provider failing, a prefix paused) are
 * written to stderr, each distinct one at most once an hour, so a misconfiguration is never
 * silent and a recurring problem is seen again. Distinct means the event and its message,
 * reason, prefix or provider's code: each paused prefix is its own line, and a provider failing
 * for a new reason (its auth token rotated after a brownout) is seen at once.
 */
export function defaultLogger(
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  now: () => number = Date.now,
): Logger {
  // A wrong code or a refused resend is a user's everyday mistake, not the operator's concern.
  const prints = (event: string, level: Level) => level === 'error' || (level === 'warn' && OPERATOR_WARNINGS.has(event));
  const printed = new Map<string, number>();
  const once = (level: Level, label: string) => (event: Record<string, unknown>) => {
    if (!prints(String(event.event), level)) return;
    const key = `${String(event.event)}:${String(event.message ?? event.reason ?? '')}:${String(event.prefix ?? '')}:${String(event.providerCode ?? '')}`;
    const t = now();
    const at = printed.get(key);
    if (at !== undefined && t - at < REPEAT_AFTER_MS) return;
    if (printed.size >= MAX_REMEMBERED) printed.clear();
    printed.set(key, t);
    const { event: name, ...rest } = event;
    write(`express-passwordless-sms ${label}: ${String(name)} ${JSON.stringify(rest)}`);
  };
  const logger: Logger & Selective = { [WANTS]: prints, info() {}, warn: once('warn', 'warning'), error: once('error', 'error') };
  return Object.freeze(logger);
}

/** A logger that drops everything (`logger: false`). */
export const SILENT: Logger = Object.freeze({ [WANTS]: () => false, info() {}, warn() {}, error() {} } satisfies Logger & Selective);
