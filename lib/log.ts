/**
 * Structured events for the injected logger. Every event passes through here, so this is
 * the one place that guarantees a phone number is masked; codes are never handed in.
 */
import { maskPhone } from './phone';
import type { Logger } from './types';

export type EventName = 'code_sent' | 'send_failed' | 'login' | 'login_failed' | 'rate_limited' | 'store_error' | 'internal_error' | 'config_warning';

export interface EventFields {
  phone?: string;
  clientId?: string;
  reason?: string;
  code?: string | number;
  limit?: string;
  message?: string;
}

const LEVEL: Record<EventName, keyof Logger> = {
  code_sent: 'info',
  login: 'info',
  login_failed: 'warn',
  rate_limited: 'warn',
  send_failed: 'error',
  store_error: 'error',
  internal_error: 'error',
  config_warning: 'warn',
};

export function logEvent(logger: Logger, event: EventName, fields: EventFields = {}): void {
  const { phone, code, ...rest } = fields;
  const entry: Record<string, unknown> = { event, ...rest };
  if (phone !== undefined) entry.phone = maskPhone(phone);
  // `code` is a provider's error code (e.g. Twilio 21211), never an OTP; named apart to be sure.
  if (code !== undefined) entry.providerCode = code;
  try {
    logger[LEVEL[event]](entry, `passwordless: ${event}`);
  } catch {
    // A broken logger must not turn a login into a 500.
  }
}
