/**
 * A sender that keeps messages in memory instead of sending them: for tests, demos and the
 * example app's development outbox. It holds codes in clear, so it is for development only.
 */
import { optionError } from '../errors';
import { newId } from '../core/crypto';
import type { SmsMessage, SmsSender } from '../types';

export interface OutboxMessage extends SmsMessage {
  id: string;
  /** Wall-clock time the message was "sent" (ms). */
  sentAt: number;
}

export interface OutboxSender extends SmsSender {
  /** Kept messages, oldest first, newest last. */
  readonly messages: readonly OutboxMessage[];
  /** The newest message, or the newest to `to` (any formatting of the number is not matched: use E.164). */
  last(to?: string): OutboxMessage | undefined;
  clear(): void;
}

export interface OutboxSenderOptions {
  /** How many messages to keep; older ones are dropped. Default 100. */
  max?: number;
}

export function outboxSender(options: OutboxSenderOptions = {}): OutboxSender {
  if (options === null || typeof options !== 'object') throw optionError('outboxSender(options)', 'must be an object such as { max: 100 }.');
  for (const key of Object.keys(options)) {
    if (key !== 'max') throw optionError(`outboxSender.${key}`, 'is not an option of outboxSender. The only option is `max`.');
  }
  const max = options.max ?? 100;
  if (!Number.isInteger(max) || max < 1) throw optionError('outboxSender.max', `must be a positive integer (got ${String(max)}).`);
  const messages: OutboxMessage[] = [];
  return {
    name: 'outbox',
    messages,
    async send(message) {
      const kept: OutboxMessage = { ...message, id: `SM${newId()}`, sentAt: Date.now() };
      messages.push(kept);
      if (messages.length > max) messages.splice(0, messages.length - max);
      return { id: kept.id };
    },
    last(to) {
      for (let i = messages.length - 1; i >= 0; i -= 1) {
        const m = messages[i];
        if (m && (to === undefined || m.to === to)) return m;
      }
      return undefined;
    },
    clear() {
      messages.length = 0;
    },
  };
}
