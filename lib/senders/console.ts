/**
 * A development sender that prints each message instead of sending it. It prints codes, so
 * it refuses to exist in production unless told otherwise. The number is masked like in every
 * log line: a terminal's scrollback and a CI log keep what was printed.
 */
import { checkObject, keysOf, optionError } from '../config/validate';
import { newId } from '../core/crypto';
import { maskPhone } from '../core/phone';
import type { SmsMessage, SmsSender } from '../types';

export interface ConsoleSenderOptions {
  /** Build it even when `NODE_ENV=production`. Codes then reach your logs: don't. */
  dangerouslyAllowInProduction?: boolean;
  /** Where lines go. Default `console.log`. */
  write?: (line: string) => void;
}

const OPTIONS = keysOf<ConsoleSenderOptions>()(['dangerouslyAllowInProduction', 'write']);

export function consoleSender(options: ConsoleSenderOptions = {}): SmsSender {
  checkObject<ConsoleSenderOptions>(options, 'consoleSender(options)', OPTIONS, '{ write: (line) => console.log(line) }');
  if (process.env.NODE_ENV === 'production' && options.dangerouslyAllowInProduction !== true) {
    throw optionError(
      'sender',
      'is consoleSender() while NODE_ENV=production: it would print login codes instead of sending them. Use twilioSender(...) in production.',
    );
  }
  const write = options.write ?? ((line: string) => console.log(line));
  if (typeof write !== 'function') throw optionError('consoleSender.write', 'must be a function (line: string) => void.');
  return {
    name: 'console',
    async send(message: SmsMessage) {
      const id = `SM${newId()}`;
      const masked = maskPhone(message.to);
      // A template may print the number too ({{ phone_number }}): masked there as well.
      const body = message.to ? message.body.split(message.to).join(masked) : message.body;
      write(`[express-passwordless-sms] SMS to ${masked} (client ${message.clientId}): ${body}`);
      return { id };
    },
  };
}
