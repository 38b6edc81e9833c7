/**
 * A sender that keeps messages in memory instead of sending them: for tests, demos and the
 * example app's development outbox. It holds codes in clear, so it is for development only.
 */
import { checkObject, integerIn, keysOf } from '../config/validate';
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

const OPTIONS = keysOf<OutboxSenderOptions>()(['max']);

export function outboxSender(options: OutboxSenderOptions = {}): OutboxSender {
  checkObject<OutboxSenderOptions>(options, 'outboxSender(options)', OPTIONS, '{ max: 100 }');
  const max = integerIn('outboxSender.max', options.max, 1, 1_000_000, 100);
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
