/**
 * Tries several senders in order, moving on when a provider is unavailable, or refuses its own
 * route to the number (Twilio 21612). A number the provider refuses (a 4xx
 * `PasswordlessError`, such as Twilio 21211) is not retried elsewhere: another provider would
 * refuse it too, and the user has to fix the number.
 */
import {
  ErrorCodes,
  PasswordlessError,
  copyWithMarks,
  fail,
  isOutcomeUnknown,
  lateOutcomeOf,
  outcomeUnknown,
  providerCodeOf,
  withProviderCode,
} from '../errors';
import { answerableStatus, loggableErrorCode, loggableProviderCode, sharesDigits } from '../core/scrub';
import { checkObject, keysOf, notCalledHint, optionError } from '../config/validate';
import type { SmsMessage, SmsSender } from '../types';
import { checkSenderTimeout, selfTimed, sendWithin } from './deadline';

/** What `onFailover` hears: provider names and a reason of status and code, never a message text (it can quote the number). */
export interface FailoverEvent {
  /** The sender that failed. */
  from: string;
  /** The sender tried next. */
  to: string;
  /** Status and code of the failure, such as `'502 sms_provider_error'`. */
  reason: string;
}

export interface FallbackSenderOptions {
  /** Called before each move to the next sender, for logs and metrics. Errors it throws are ignored. */
  onFailover?: (event: FailoverEvent) => void;
}

/** More would add up to minutes of timeouts before a user hears anything. */
const MAX_SENDERS = 10;

function validate(senders: unknown, options: unknown): void {
  if (!Array.isArray(senders) || senders.length === 0) {
    throw optionError(
      'fallbackSender(senders)',
      'must be a non-empty array of senders, primary first, such as [twilioSender(...), gatewaySender(...)].',
    );
  }
  if (senders.length > MAX_SENDERS)
    throw optionError('fallbackSender(senders)', `takes at most ${MAX_SENDERS} senders (got ${senders.length}).`);
  senders.forEach((sender: unknown, i) => {
    if (sender === null || typeof sender !== 'object' || typeof (sender as SmsSender).send !== 'function') {
      throw optionError(
        `fallbackSender(senders)[${i}]`,
        `must be a sender: an object with a send(message) method.${notCalledHint(sender)}`,
      );
    }
    checkSenderTimeout(`fallbackSender(senders)[${i}]`, sender as SmsSender);
  });
  checkObject<FallbackSenderOptions>(
    options,
    'fallbackSender(options)',
    keysOf<FallbackSenderOptions>()(['onFailover']),
    '{ onFailover }',
    false,
  );
  const hook = (options as FallbackSenderOptions).onFailover;
  if (hook !== undefined && typeof hook !== 'function')
    throw optionError('fallbackSender.onFailover', 'must be a function ({ from, to, reason }) => void.');
}

/**
 * Each sender's name in `provider` and failover events: its `name`, else `sender[i]`; a name
 * used twice (two Twilio accounts) gets its position, so the events say which one failed.
 */
function labels(senders: readonly SmsSender[]): string[] {
  const names = senders.map((s, i) => (typeof s.name === 'string' && s.name !== '' ? s.name : `sender[${i}]`));
  return names.map((name, i) => (names.indexOf(name) !== names.lastIndexOf(name) ? `${name}[${i}]` : name));
}

/**
 * Twilio refusals of its own route to the number rather than of the number: the sender cannot
 * reach the number's carrier (21612). Another provider may well deliver; the last one's refusal
 * is a 400. Not 21408 (the account's geographic permissions leave the country out): that is the
 * operator's policy, often their defence against SMS pumping, which no provider may route around.
 */
const ROUTE_REFUSALS: ReadonlySet<string> = new Set(['21612']);

/** "The number itself is refused": the only failure that is not worth another provider. */
function isRefusedDestination(err: unknown): boolean {
  return err instanceof PasswordlessError && err.status >= 400 && err.status < 500 && !ROUTE_REFUSALS.has(providerCodeOf(err) ?? '');
}

/**
 * Status and code only: provider texts can quote the number, and a custom sender's could even
 * hold the body. What the provider said is added when it holds none of the message's digits.
 */
function reasonOf(err: unknown, body: string): string {
  const said = loggableProviderCode(providerCodeOf(err), body);
  if (err instanceof PasswordlessError) {
    // A JavaScript sender's status may be anything, the code's digits included.
    const status = answerableStatus(err.status) ?? 502;
    return `${status} ${loggableErrorCode(err.code, body) ?? ErrorCodes.smsProviderError}${said === undefined ? '' : ` (${said})`}`;
  }
  const e = err as { code?: unknown; name?: unknown } | null | undefined;
  // An identifier with a letter (ECONNRESET, TimeoutError): a string of digits could be anything, the code included.
  const token = [e?.code, e?.name].find(
    (t) => typeof t === 'string' && /^(?=.*[A-Za-z])[A-Za-z0-9_.-]{1,40}$/.test(t) && !sharesDigits(t, body),
  );
  return `502 ${ErrorCodes.smsProviderError}${token ? ` (${String(token)})` : ''}`;
}

/**
 * The error a failover ends with when an earlier provider's send may have gone out (it timed
 * out, say, before the next one failed): a fresh error of unknown outcome, never the member's
 * own object (a custom sender may throw one shared error every time), whose late outcome is
 * whether any of those sends went out after all (unknown if one of them cannot tell). A
 * refused number keeps its 400; anything else says the SMS may still arrive.
 */
function unsureAfter(err: unknown, unsure: ReadonlyArray<Promise<boolean> | undefined>): unknown {
  if (unsure.length === 0) return err;
  const fresh =
    err instanceof PasswordlessError && isRefusedDestination(err)
      ? copyWithMarks(err)
      : withProviderCode(fail('providerNoAnswer', {}), providerCodeOf(err) ?? 'timeout');
  const late = unsure.every((l) => l !== undefined) ? Promise.all(unsure).then((went) => went.some(Boolean)) : undefined;
  return outcomeUnknown(fresh, late);
}

/**
 * The failovers that came before each failed send's error, kept apart from the error: a
 * custom sender may throw one shared object every time.
 */
const FAILOVERS = new WeakMap<object, readonly FailoverEvent[]>();

/** The error, with the failovers that preceded it when it is an object that can carry them. */
function withFailovers(err: unknown, failovers: readonly FailoverEvent[]): unknown {
  if (failovers.length > 0 && err !== null && typeof err === 'object') FAILOVERS.set(err, failovers);
  return err;
}

/** How long each failed member took, for the metrics' send durations (kept off the event the app sees). */
const FAILOVER_MS = new WeakMap<FailoverEvent, number>();

/** How long the member that `event` moved on from took to fail, in ms. */
export function failoverMs(event: FailoverEvent): number | undefined {
  return FAILOVER_MS.get(event);
}

/** Failovers from a member whose send may still have gone out (it timed out): `unknown` in the metrics, not `failed`. */
const FAILOVER_UNSURE = new WeakSet<FailoverEvent>();

/** Whether the member that `event` moved on from may still have sent (its outcome is unknown). */
export function failoverUnsure(event: FailoverEvent): boolean {
  return FAILOVER_UNSURE.has(event);
}

/** Which member's answer a failed send ended with, for the metrics' `provider` label. */
const ANSWERED_BY = new WeakMap<object, string>();
/**
 * Failed sends whose last member's own send may have gone out. The error itself is of unknown
 * outcome whenever any member's was (the code stays pending), but the metrics label each
 * member by its own outcome: a member that surely failed after one that timed out is `failed`.
 */
const LAST_UNSURE = new WeakSet<object>();

/** Whether the last member tried by the fallbackSender that failed with `err` may still have sent; undefined for other errors. */
export function lastMemberUnsure(err: unknown): boolean | undefined {
  if (err === null || typeof err !== 'object' || !ANSWERED_BY.has(err)) return undefined;
  return LAST_UNSURE.has(err);
}

/** The member of a fallbackSender whose failure `err` is (undefined for any other error). */
export function answeredByOf(err: unknown): string | undefined {
  return err !== null && typeof err === 'object' ? ANSWERED_BY.get(err) : undefined;
}

function answeredBy(err: unknown, name: string, unsure: boolean): unknown {
  if (err !== null && typeof err === 'object') {
    ANSWERED_BY.set(err, name);
    if (unsure) LAST_UNSURE.add(err);
    else LAST_UNSURE.delete(err);
  }
  return err;
}

/** The failovers a fallbackSender went through before failing with `err` (none for any other error). */
export function failoversOf(err: unknown): readonly FailoverEvent[] {
  return (err !== null && typeof err === 'object' && FAILOVERS.get(err)) || [];
}

export function fallbackSender(
  senders: readonly SmsSender[],
  options: FallbackSenderOptions = {},
): SmsSender & { readonly senders: readonly SmsSender[] } {
  validate(senders, options);
  const list = [...senders];
  const names = labels(list);
  const onFailover = options.onFailover;

  function notify(event: FailoverEvent): void {
    try {
      onFailover?.(event);
    } catch {
      // A broken hook must not stop the next provider from sending the code.
    }
  }

  return selfTimed({
    name: 'fallback',
    senders: list,
    async send(message: SmsMessage) {
      let lastError: unknown;
      let lastUnsure = false;
      // The late outcomes of the members' sends that may have gone out.
      const unsure: Array<Promise<boolean> | undefined> = [];
      // Handed back with the result, so that the login core can log which providers failed over.
      const failovers: FailoverEvent[] = [];
      for (let i = 0; i < list.length; i += 1) {
        const sender = list[i] as SmsSender;
        const began = Date.now();
        try {
          const sent = await sendWithin(sender, message);
          return {
            ...(sent?.id !== undefined ? { id: sent.id } : {}),
            provider: names[i] as string,
            ...(failovers.length > 0 ? { failovers } : {}),
          };
        } catch (err) {
          if (isRefusedDestination(err)) throw answeredBy(withFailovers(unsureAfter(err, unsure), failovers), names[i] as string, false);
          lastUnsure = isOutcomeUnknown(err);
          if (lastUnsure) unsure.push(lateOutcomeOf(err));
          lastError = err;
          const next = names[i + 1];
          if (next !== undefined) {
            const event = { from: names[i] as string, to: next, reason: reasonOf(err, message.body) };
            FAILOVER_MS.set(event, Date.now() - began);
            if (lastUnsure) FAILOVER_UNSURE.add(event);
            failovers.push(event);
            notify(event);
          }
        }
      }
      throw answeredBy(withFailovers(unsureAfter(lastError, unsure), failovers), names[list.length - 1] as string, lastUnsure);
    },
    async close() {
      const results = await Promise.allSettled(list.map(async (s) => s.close?.()));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  });
}
