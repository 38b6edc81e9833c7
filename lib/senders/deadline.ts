/**
 * A deadline for senders that keep none of their own. The built-in Twilio and gateway senders
 * time their requests out and fallbackSender bounds its members; a custom sender (any
 * `{ send(message) }`) that hangs would otherwise leave the start unanswered, its limits
 * spent, and a failover never tried. Past its `timeoutMs` (default 15 s) such a send is one of
 * unknown outcome, answered and settled as the built-in senders' timeouts are: if it resolves
 * within the grace that follows, it went out; otherwise its code goes and its limits come back.
 */
import { integerIn, optionError } from '../config/validate';
import { sendTimedOut } from '../errors';
import { fixedTimeout, lateGraceMs, trueWithin, type FixedTimeout } from '../timeout';
import type { SmsMessage, SmsSender } from '../types';

/** How long a custom sender's send is waited for when it names no `timeoutMs`. */
export const CUSTOM_SENDER_TIMEOUT_MS = 15_000;

/** Refuses a `timeoutMs` that is no number of milliseconds, naming where the sender was given. */
export function checkSenderTimeout(path: string, sender: SmsSender): void {
  if (SELF_TIMED.has(sender) && sender.timeoutMs !== undefined)
    throw optionError(
      `${path}.timeoutMs`,
      "is set on a built-in sender, which times its own sends: give twilioSender or gatewaySender their `timeoutMs` option, and a fallbackSender's members theirs (it waits for each in turn).",
    );
  integerIn(`${path}.timeoutMs`, sender.timeoutMs, 1, 120_000, CUSTOM_SENDER_TIMEOUT_MS);
}

/** Senders that bound their own sends in time. */
const SELF_TIMED = new WeakSet<object>();

/** Marks a built-in sender that times its own sends out: its own timeout and grace apply. */
export function selfTimed<T extends SmsSender>(sender: T): T {
  SELF_TIMED.add(sender);
  return sender;
}

type Sent = Awaited<ReturnType<SmsSender['send']>>;

/** Each custom sender's bound, made on its first send (its `timeoutMs` is checked at construction). */
const BOUNDS = new WeakMap<SmsSender, { ms: number; bounded: FixedTimeout }>();

function boundOf(sender: SmsSender): { ms: number; bounded: FixedTimeout } {
  const ms = sender.timeoutMs ?? CUSTOM_SENDER_TIMEOUT_MS;
  let bound = BOUNDS.get(sender);
  // A sender whose timeoutMs was changed after its first send gets a new bound.
  if (bound?.ms !== ms) {
    bound = { ms, bounded: fixedTimeout(ms) };
    BOUNDS.set(sender, bound);
  }
  return bound;
}

/** `sender.send(message)`, bounded by the sender's `timeoutMs` unless it bounds itself. */
export function sendWithin(sender: SmsSender, message: SmsMessage): Promise<Sent> {
  if (SELF_TIMED.has(sender)) return sender.send(message);
  let sending: Promise<Sent>;
  try {
    sending = Promise.resolve(sender.send(message));
  } catch (err) {
    return Promise.reject(err);
  }
  const { ms, bounded } = boundOf(sender);
  // Past the timeout, whether the send went out after all: it resolves within the grace.
  return bounded(sending, () =>
    sendTimedOut(
      'SMS provider',
      ms,
      trueWithin(
        sending.then(() => true),
        lateGraceMs(ms),
      ),
    ),
  );
}
