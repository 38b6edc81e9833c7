/**
 * The login itself, without Express: a start (client, number, limits, code, message, store,
 * send) and a redeem (limits, the store's atomic check, the user) take plain inputs and
 * return outcomes or throw a catalogue error. The HTTP layer only translates requests to
 * these calls and their results to answers; the CLI, the bench and tests call them directly.
 */
import { DEFAULTS } from '../config/defaults';
import type { Config, ResolvedClient } from '../config/options';
import {
  PasswordlessError,
  fail,
  isOutcomeUnknown,
  lateOutcomeOf,
  outcomeUnknown,
  providerCodeOf,
  refused,
  shown,
  unavailable,
} from '../errors';
import { LATE_GRACE_MS, trueWithin } from '../timeout';
import {
  createLimits,
  loggedPrefix,
  type Bucket,
  type FraudCheck,
  type LimitBackend,
  type Limits,
  type Refusal,
  type StartPlan,
  type TakeResult,
  type VerifyPlan,
} from '../limits';
import { RedisBackend } from '../redis/backend';
import { sendWithin } from '../senders/deadline';
import { answeredByOf, failoverMs, failoversOf, failoverUnsure, lastMemberUnsure, type FailoverEvent } from '../senders/fallback';
import type { CodeRecord, RemovedCode, SmsSender, StoreContext, VerifyResult } from '../types';
import { addressKey, ipOf } from './address';
import { generateCode, newId, safeEqual, type CodeKeys } from './crypto';
import type { LanguageHeaders } from './language';
import { logEvent, throttledLog } from './log';
import { composeMessage } from './message';
import { parsePhone, type Phone } from './phone';
import { sendTimer } from './send-timer';
import { loggableMessageId, loggableProviderCode, sendFailure } from './scrub';
import { HookError, isKnown, resolveUser, type PasswordlessUser } from './users';

/** Who is asking: the end user's address and user agent, and the language headers. */
export interface RequestInfo {
  ip: string;
  userAgent: string;
  headers: LanguageHeaders;
}

/** A client's identification, exactly as sent (anything not a string is refused). */
export interface ClientCredentials {
  clientId: unknown;
  clientSecret?: unknown;
  connection: unknown;
}

export interface StartInput extends ClientCredentials {
  phoneNumber: unknown;
  send?: unknown;
  authParams?: unknown;
  /** Auth0's `auth0-forwarded-for`: the end user's address, trusted only from a confidential client that proved its secret. */
  forwardedFor?: string | undefined;
  request: RequestInfo;
  /** Binds the code to one browser (the session store's id); the same binding must redeem it. */
  binding?: string | undefined;
}

export interface StartResult {
  /** Opaque id of this code (the start answer's `_id`). */
  id: string;
  phoneNumber: string;
  requestLanguage: string;
}

export interface RedeemInput {
  client: ResolvedClient;
  /** `auth0-forwarded-for`, trusted as on start: only from a confidential client that proved its secret. */
  forwardedFor?: string | undefined;
  /** E.164 (already parsed). */
  phone: string;
  code: string;
  request: RequestInfo;
  binding?: string | undefined;
  /** The token grant answers an exhausted code with Auth0's own text. */
  grant?: 'verify' | 'token';
}

export interface Redeemed {
  user: PasswordlessUser;
  /** What the start stored with the code (the `authParams.nonce`). */
  nonce: string | undefined;
}

export interface Login {
  readonly config: Config;
  readonly limits: Limits | undefined;
  start(input: StartInput): Promise<StartResult>;
  redeem(input: RedeemInput): Promise<Redeemed>;
  /** The client behind these credentials (Auth0's order of checks), with failed secrets limited per address; a promise only when a secret is checked, and a sync throw otherwise (await it). */
  authenticate(credentials: ClientCredentials, ip: string, style?: 'passwordless' | 'token'): ResolvedClient | Promise<ResolvedClient>;
  /** A valid number for a start (destination rules applied) or a redeem (parse only). */
  readPhone(value: unknown, forStart: boolean): Phone;
  /**
   * Waits for background sends in flight (those started meanwhile too, up to `waitMs`,
   * CLOSE_WAIT_MS by default, in all), then stops logging the late failures of the Redis
   * servers it uses (they may outlive it).
   */
  close(waitMs?: number): Promise<void>;
}

/**
 * How far apart the clocks of instances sharing Redis limits may be for a failed send's resend
 * cooldown to go back to the window its start counted in, one that another instance opened (the
 * Redis scripts already need the app's and Redis's clocks within 250 ms).
 */
const CLOCK_SLACK_MS = 1_000;

/** Codes longer than any valid one are cut before hashing; they can never match anyway. */
const MAX_CODE_INPUT = 32;
/**
 * Longest `authParams.nonce` kept with a code: OpenID clients send 22 to 86 characters, and a
 * pending code's memory grows with it (a decoy's too), so the bound keeps each code small.
 */
const MAX_NONCE = 256;

/** The nonce of `authParams` (an object); kept with the code for the ID token. */
function readAuthParams(authParams: unknown): string | undefined {
  if (authParams === undefined) return undefined;
  if (authParams === null || typeof authParams !== 'object' || Array.isArray(authParams)) throw fail('badAuthParams');
  const nonce = Object.hasOwn(authParams, 'nonce') ? (authParams as Record<string, unknown>).nonce : undefined;
  if (nonce === undefined) return undefined;
  if (typeof nonce !== 'string' || nonce.length === 0 || nonce.length > MAX_NONCE) throw fail('badNonce');
  return nonce;
}

/** A start's stored code, and the clock once its limits were counted (what a give-back may reach: see giveBack). */
interface Saved {
  readonly key: string;
  readonly record: CodeRecord;
  readonly takenBy: number;
}

/** The late outcome of a send whose sender cannot learn it: never settles (settleLate gives up). */
const NO_ANSWER = new Promise<boolean>(() => {});

/** Longest `close()` waits for background sends: past a provider's usual timeout (Twilio's 10 s). */
const CLOSE_WAIT_MS = 15_000;

/** The buckets a wrong code counts in: the address's and the number's (per address). */
function failureBuckets(plan: VerifyPlan): Bucket[] {
  return [plan.address, plan.phone].filter((b): b is Bucket => b !== undefined);
}

export function createLogin(config: Config): Login {
  const { keyring, store, logger, metrics } = config;
  const limits =
    config.rateLimits && config.limitStore ? createLimits(config.rateLimits, config.fraudGuard, config.limitStore, keyring) : undefined;
  const subnet = config.rateLimits ? config.rateLimits.ipv6Subnet : 64;
  // One script call for limits and code when both live in the same Redis.
  const fused =
    limits?.backend instanceof RedisBackend && (store as { redis?: unknown }).redis === limits.backend ? limits.backend : undefined;
  // The Redis servers this login uses: the store's, then the limits' (the same one when fused).
  const redisBackends = [...new Set([(store as { redis?: unknown }).redis, limits?.backend])].filter(
    (b): b is RedisBackend => b instanceof RedisBackend,
  );
  // The request's deadline comes from the Redis it uses (the store's, else the limits').
  const timeoutMs = redisBackends[0]?.timeoutMs ?? DEFAULTS.redisTimeoutMs;
  // What a Redis sends after an answer (a cluster's give-backs) fails where no request waits: logged here.
  const stopHearing = redisBackends.flatMap((backend) => [
    backend.onLateFailure(logLateFailure),
    backend.onWarning((message) => logEvent(logger, 'config_warning', { message })),
  ]);
  const sends = sendTimer();
  /** `sendInBackground` sends not yet settled. */
  const inFlight = new Set<Promise<void>>();
  const pumpLog = throttledLog(60_000);
  // A pause judged on sends in flight is lifted when they fail, so one prefix can be paused over
  // and over: each instance logs it once a minute per prefix, as it logs the refusals.
  const suspectLog = throttledLog(60_000);

  /**
   * Runs store or limit work; a failure that is not already an answer is the backing service's: 503.
   * A `then`, not an `async` function: it wraps every store and limits call of every request.
   */
  function guarded<T>(operation: () => Promise<T>): Promise<T> {
    try {
      // A custom store written in JavaScript may answer with a plain value: taken as `await` takes it.
      return Promise.resolve(operation()).then(undefined, backingFailure);
    } catch (err) {
      // Thrown before any promise: rejected all the same, never thrown at the caller.
      return new Promise<T>(() => backingFailure(err));
    }
  }

  function backingFailure(err: unknown): never {
    if (err instanceof PasswordlessError) {
      if (err.status === 503) {
        metrics.storeError();
        logEvent(logger, 'store_error', { message: 'the store or the limits did not answer in time' });
      }
      throw err;
    }
    if (err instanceof HookError) throw err;
    metrics.storeError();
    logEvent(logger, 'store_error', { message: err instanceof Error ? err.message : String(err) });
    throw unavailable();
  }

  function context(now: number): StoreContext {
    return { now, ttlMs: config.otp.ttlMs, maxAttempts: config.otp.maxAttempts, deadline: Date.now() + timeoutMs };
  }

  /** A full bucket as its answer, logged; `fraud` is the request's fraud-guard check, whose prefix a pause names. */
  function refusal(r: Refusal, phone: string, clientId: string, fraud?: FraudCheck): PasswordlessError {
    metrics.limitRefusal(r.bucket);
    if (r.bucket === 'fraudGuard') {
      // Only a request with a fraud check meets a paused prefix.
      const prefix = fraud?.prefix ?? '';
      pumpLog(prefix, config.now(), () => logEvent(logger, 'sms_pumping_blocked', { prefix: loggedPrefix(phone, prefix), clientId }));
    } else {
      logEvent(logger, 'rate_limited', { phone, clientId, limit: r.bucket });
    }
    return refused(r.refusal, r.retryAfterMs);
  }

  /**
   * The client behind these credentials, in Auth0's order of checks. Answered without a promise
   * when there is no secret to check (a public client, every browser's start and verify): the
   * callers `await` it either way.
   */
  function authenticate(
    credentials: ClientCredentials,
    ip: string,
    style: 'passwordless' | 'token' = 'passwordless',
  ): ResolvedClient | Promise<ResolvedClient> {
    const token = style === 'token';
    const { clientId, connection, clientSecret } = credentials;
    if (typeof clientId !== 'string' || clientId === '')
      throw token ? fail('tokenMissingParameter', { name: 'client_id' }) : fail('missingClientId');
    const client = config.clients.get(clientId);
    if (!client) throw token ? fail('tokenUnknownClient') : fail('unknownClient', { name: shown(clientId, 100) });
    if (!token) {
      if (typeof connection !== 'string' || connection === '') throw fail('missingConnection');
      if (connection !== config.connection) throw fail('unknownConnection');
      if (!client.enabled) throw fail('connectionDisabled');
    }
    if (client.secret === undefined) {
      if (token && !client.enabled) throw fail('tokenConnectionDisabled');
      return client;
    }
    return proveSecret(client, clientSecret, ip, token);
  }

  async function proveSecret(client: ResolvedClient, clientSecret: unknown, ip: string, token: boolean): Promise<ResolvedClient> {
    const clientId = client.clientId;
    const secret = client.secret as string;
    // The secret is compared first (in constant time); what the answer may say depends on the
    // failures of this client from this address. A wrong one is checked and counted in one
    // step, so concurrent guesses are answered 401 at most `failedClientAuthPerIpPerHour`
    // times and 429 after. No secret at all is no guess: not counted, so a neighbour cannot
    // spend the count by naming the client.
    const given = typeof clientSecret === 'string' && clientSecret !== '';
    const right = given && safeEqual(clientSecret, secret);
    const bucket = given ? limits?.clientAuth(addressKey(ip, subnet), clientId) : undefined;
    const now = config.now();
    if (!right) {
      if (bucket) {
        const taken = await guarded(() => (limits as Limits).backend.take([bucket], undefined, now, Date.now() + timeoutMs));
        if (taken.refused) throw refusal(taken.refused, '', clientId);
      }
      logEvent(logger, 'client_auth_failed', { clientId });
      throw token ? fail('tokenClientAuthFailed') : fail('clientAuthFailed');
    }
    // A right secret that no one can guess (long and random: guessproof) passes even while
    // its count is full: wrong guesses from a neighbour behind the same address must not lock
    // the backend out. Any other is refused like a wrong one then, so the answer never tells a
    // right guess from a wrong one and guessing stays bounded by the limit.
    if (bucket && !client.guessproofSecret) {
      const full = await guarded(() => (limits as Limits).backend.peek([bucket], now, Date.now() + timeoutMs));
      if (full) throw refusal(full, '', clientId);
    }
    if (token && !client.enabled) throw fail('tokenConnectionDisabled');
    return client;
  }

  function readPhone(value: unknown, forStart: boolean): Phone {
    if (value === undefined || value === '') throw fail('missingPhone');
    const phone = parsePhone(value, forStart && config.blockedNumberTypes.size > 0);
    if (!phone) throw fail('invalidPhone');
    if (forStart) {
      if (config.allowedCountries && (!phone.country || !config.allowedCountries.has(phone.country))) throw fail('countryNotAllowed');
      if (phone.type && config.blockedNumberTypes.has(phone.type)) throw fail('numberTypeBlocked');
    }
    return phone;
  }

  /** A number's hashed key: its limit buckets' key and its Redis Cluster slot tag. */
  function numberKey(phone: string): string {
    return keyring.limitKey(`phone:${phone}`);
  }

  /** The store key of a code: the number's key (so its slot), then the code key. */
  function storeKey(keys: CodeKeys, tag: string, clientId: string, binding: string): string {
    return `${tag}.${keys.codeKey(clientId, binding)}`;
  }

  /** The end user's address: a trusted `auth0-forwarded-for`, else the request's. */
  function endUserAddress(input: { forwardedFor?: string | undefined; request: RequestInfo }, client: ResolvedClient): string {
    const forwarded = input.forwardedFor?.trim();
    const ip = forwarded ? ipOf(forwarded) : undefined;
    return client.secret !== undefined && ip !== undefined ? ip : input.request.ip;
  }

  /** A prefix the fraud guard has just paused: counted, and logged once per pause. */
  function notePause(result: TakeResult, fraud: FraudCheck | undefined, phone: string, clientId: string, now: number): void {
    if (!result.paused || !fraud) return;
    metrics.fraudPause();
    const { sends, redemptions } = result.paused;
    suspectLog(fraud.prefix, now, () =>
      logEvent(logger, 'sms_pumping_suspected', {
        prefix: loggedPrefix(phone, fraud.prefix),
        sends: Math.round(sends),
        redemptions: Math.round(redemptions),
        clientId,
      }),
    );
  }

  /**
   * Counts the start and stores its code; answers `takenBy` (see giveBack): a window opened later
   * than that is a newer request's. Read right after the take, never before the start's own
   * clock reading (a clock stepped back), and with a second's slack for instances whose clocks
   * differ a little (a window in a shared Redis ends on the clock of the instance that opened it).
   */
  async function takeAndSave(
    plan: StartPlan | undefined,
    key: string,
    record: CodeRecord,
    ctx: StoreContext,
    phone: string,
    clientId: string,
  ): Promise<number> {
    if (!plan || !limits) {
      await guarded(() => store.save(key, record, ctx));
      return ctx.now;
    }
    const deadline = ctx.deadline as number;
    const result = await guarded(() =>
      fused
        ? fused.takeAndSave({ buckets: plan.buckets, fraud: plan.fraud, now: ctx.now, deadline, save: { key, record, ttlMs: ctx.ttlMs } })
        : limits.backend.take(plan.buckets, plan.fraud, ctx.now, deadline),
    );
    const takenBy = Math.max(ctx.now, config.now()) + CLOCK_SLACK_MS;
    notePause(result, plan.fraud, phone, clientId, ctx.now);
    if (result.refused) throw refusal(result.refused, phone, clientId, plan.fraud);
    if (!fused) {
      try {
        await guarded(() => store.save(key, record, ctx));
      } catch (err) {
        await giveBack(plan, ctx, takenBy);
        throw err;
      }
    }
    return takenBy;
  }

  /**
   * A start that sent nothing gives the number's buckets back; the address's stays spent.
   *
   * The resend cooldown goes back only to a window opened by `takenBy` (the clock once the
   * start's take was answered): a later one is a newer start's, this one's having run out
   * meanwhile, and emptying it would let a second SMS out within one cooldown. The other counts
   * go back to any live window: a clock stepped back by more than the slack could otherwise keep
   * them spent for an hour or a day, where the cooldown's worst is one cooldown.
   */
  async function giveBack(plan: StartPlan | undefined, ctx: StoreContext, takenBy: number, buckets = true, fraud = true): Promise<void> {
    if (!plan || !limits) return;
    try {
      // A start that sends nothing (a test number, a decoy) was judged by the fraud guard, not counted.
      const sent = fraud && plan.fraud?.counts ? plan.fraud : undefined;
      if (!buckets && !sent) return;
      const given = buckets ? limits.refundable(plan) : [];
      const cooldown = given.filter((b) => b.name === 'resendCooldownSeconds');
      const deadline = Date.now() + timeoutMs;
      const rest = given.filter((b) => b.name !== 'resendCooldownSeconds');
      await Promise.all([
        cooldown.length > 0 ? limits.backend.give(cooldown, undefined, ctx.now, deadline, takenBy) : undefined,
        rest.length > 0 || sent ? limits.backend.give(rest, sent, ctx.now, deadline) : undefined,
      ]);
    } catch (err) {
      logLateFailure('give back the limits of a failed send', err);
    }
  }

  /**
   * A send of unknown outcome, once its sender learns whether it went out (at most
   * LATE_GRACE_MS and a little later): one that did not is undone as a failed send is, its code
   * removed and its limits given back, on the clock of the start it belongs to. Its fraud-guard
   * count was given back when the send timed out (`refund`), so that a provider's brownout
   * cannot pause a prefix with sends nobody knows went out: one that did is counted again now.
   */
  async function settleLate(
    late: Promise<boolean>,
    plan: StartPlan | undefined,
    saved: Saved,
    startedAt: number,
    refund: boolean,
    message: { readonly to: string; readonly clientId: string },
    provider: string,
  ): Promise<void> {
    const wentOut = await trueWithin(late, LATE_GRACE_MS + 5_000);
    const ctx = context(startedAt);
    // The log says how it ended: the timeout's send_failed said only that it might still arrive.
    if (wentOut) {
      logEvent(logger, 'code_sent', { phone: message.to, clientId: message.clientId, provider, late: true });
      const fraud = plan?.fraud;
      if (refund && fraud?.counts && limits) {
        const counted = await limits.backend.take([], fraud, startedAt, ctx.deadline as number).catch(() => ({}) as TakeResult);
        notePause(counted, fraud, message.to, message.clientId, startedAt);
      }
      return;
    }
    logEvent(logger, 'send_failed', {
      phone: message.to,
      clientId: message.clientId,
      reason: `did not go out after all (no answer in time, then the send failed)${refund ? ': its code is removed and its limits given back' : ''}`,
    });
    // Under disableSignup in the background, kept pending with its limits spent (see deliver).
    if (!refund) return;
    const untried = await removeUntried(saved, ctx);
    if (untried) await giveBack(plan, ctx, saved.takenBy, true, false);
  }

  /**
   * Removes the code of a send that did not go out, and tells whether the number's limits may be
   * given back: not when the code was guessed at while its send was in flight or unsure, or
   * every failing or hanging send would buy a guesser three more guesses. Anything else gives
   * them back: a code removed untried, one no longer there (a resend replaced it, Redis expired
   * it, it was redeemed), a store that tells nothing (a custom one) or a removal that failed;
   * a provider's outage must not spend a user's sends.
   */
  async function removeUntried(saved: { readonly key: string; readonly record: CodeRecord }, ctx: StoreContext): Promise<boolean> {
    // Whatever a custom store resolves: only a code it says it removed after wrong entries counts as tried.
    const r = (await guarded(() => store.remove(saved.key, ctx, saved.record)).catch(() => undefined)) as
      Partial<RemovedCode> | null | undefined;
    return !(typeof r === 'object' && r !== null && r.removed === true && Number(r.attempts) > 0);
  }

  async function deliver(
    sender: SmsSender,
    message: Parameters<SmsSender['send']>[0],
    code: string,
    phone: Phone,
    plan: StartPlan | undefined,
    saved: Saved,
    ctx: StoreContext,
    refundOnFailure = true,
  ): Promise<void> {
    const started = Date.now();
    // A failover sender's members that failed before the last one tried: logged, and counted
    // as failed sends of their own, each with its own time; the last one's time is what is left
    // (a primary's timeout is not the backup's latency).
    const failedOver = (failovers: readonly FailoverEvent[]): number => {
      let spent = 0;
      for (const f of failovers) {
        logEvent(logger, 'send_failover', { phone: phone.e164, clientId: message.clientId, from: f.from, to: f.to, reason: f.reason });
        const ms = failoverMs(f);
        if (ms !== undefined) spent += ms;
        metrics.send(f.from, failoverUnsure(f) ? 'unknown' : 'failed', ms === undefined ? Number.NaN : ms / 1000, phone.callingCode);
      }
      return spent;
    };
    try {
      const sent = await sendWithin(sender, message);
      const provider = sent?.provider ?? sender.name ?? 'custom';
      const spent = failedOver(sent?.failovers ?? []);
      sends.record(Date.now() - started);
      metrics.send(provider, 'ok', (Date.now() - started - spent) / 1000, phone.callingCode);
      const messageId = loggableMessageId(sent?.id, message.body);
      logEvent(logger, 'code_sent', { phone: phone.e164, clientId: message.clientId, provider, ...(messageId ? { messageId } : {}) });
    } catch (err) {
      const failovers = failoversOf(err);
      const spent = failedOver(failovers);
      const failure = sendFailure(err, message, code);
      const provider = answeredByOf(err) ?? failovers.at(-1)?.to ?? sender.name ?? 'custom';
      // A send that timed out may still be delivered: it counts as a send (every limit and the
      // fraud guard) and its code stays pending, so the SMS works if it comes and a provider
      // that is slow but delivers sends no more than the limits allow. When the sender learns
      // later that it did not go out (the request, left to finish, failed), the code goes and
      // the limits are given back then: a provider that hangs uses up nobody's budget.
      const unsure = isOutcomeUnknown(err);
      // Its own outcome in the metrics: a provider that is slow is not one that refuses. A
      // failover's last member is labelled by its own send, not by an earlier member's timeout.
      const outcome = (lastMemberUnsure(err) ?? unsure) ? 'unknown' : failure.status < 500 ? 'refused' : 'failed';
      metrics.send(provider, outcome, (Date.now() - started - spent) / 1000, phone.callingCode);
      // The provider's text can quote the number in clear, so only the status is logged, and
      // what the provider said only when it holds none of the message's digits.
      logEvent(logger, 'send_failed', {
        phone: phone.e164,
        clientId: message.clientId,
        code: loggableProviderCode(providerCodeOf(err), message.body),
        reason: `${failure.status} ${failure.code}${unsure ? ' (no answer in time: the SMS may still arrive, its code stays pending)' : ''}`,
      });
      if (unsure) {
        // A reset tells nothing more later: taken for a send that did not go out once the
        // grace has passed (settleLate gives up), as a request that never answers is.
        const late = lateOutcomeOf(err) ?? NO_ANSWER;
        // Not held by close(): the answer was given, and its late outcome may take a grace as
        // long as the timeout (the process may end first; the store's own expiry then applies).
        // Counted again if it went out (settleLate): until then it is no send the fraud guard can judge.
        if (refundOnFailure) await giveBack(plan, ctx, saved.takenBy, false, true);
        void settleLate(late, plan, saved, ctx.now, refundOnFailure, message, provider).catch(() => undefined);
        // The answer carries the mark too: sessionStore's route then keeps the browser's binding.
        throw outcomeUnknown(failure);
      }
      // Under disableSignup in the background, kept pending with its limits spent, as a decoy's
      // code is (nobody received it): removing it would let wrong guesses tell the number is registered.
      if (!refundOnFailure) throw failure;
      // Only this start's code: with the cooldown off, a newer start may have replaced it meanwhile.
      const untried = await removeUntried(saved, ctx);
      // The fraud guard's count goes back either way: no SMS went out.
      await giveBack(plan, ctx, saved.takenBy, untried, true);
      throw failure;
    }
  }

  /** Held until it settles, for close(): a background send, or a start that will make one. */
  function track(work: Promise<unknown>): void {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    inFlight.add(settled);
    void settled.then(() => inFlight.delete(settled));
  }

  /** A start, counted in the metrics by how it was answered: sent, refused (4xx) or an error. */
  async function start(input: StartInput): Promise<StartResult> {
    try {
      const running = startOnce(input);
      // A start still storing its code when close() is called sends after it: waited for too.
      if (config.sendInBackground) track(running);
      const answer = await running;
      metrics.start('sent');
      return answer;
    } catch (err) {
      metrics.start(err instanceof PasswordlessError && err.status < 500 ? 'refused' : 'error');
      throw err;
    }
  }

  async function startOnce(input: StartInput): Promise<StartResult> {
    const client = await authenticate(input, input.request.ip);
    const phone = readPhone(input.phoneNumber, true);
    if (input.send !== undefined && input.send !== 'code') throw fail('badSend');
    const nonce = readAuthParams(input.authParams);
    const address = endUserAddress(input, client);
    const now = config.now();
    const testCode = config.testNumbers.get(phone.e164);
    const code = testCode ?? generateCode(config.otp.length);
    const binding = input.binding ?? '';
    const request = { ip: address, userAgent: input.request.userAgent };
    const message = composeMessage(config, { applicationName: client.name, phone: phone.e164, code, headers: input.request.headers });
    const keys = keyring.current;
    const tag = numberKey(phone.e164);
    const key = storeKey(keys, tag, client.clientId, binding);
    const record: CodeRecord = {
      id: newId(),
      hash: keys.codeHash(phone.e164, client.clientId, binding, code),
      expiresAt: now + config.otp.ttlMs,
    };
    // Only an ID token reads it: without `tokens`, nothing is kept with the code.
    if (nonce !== undefined && config.tokens) record.data = nonce;
    const answer: StartResult = { id: record.id, phoneNumber: phone.e164, requestLanguage: message.requestLanguage };
    // Under disableSignup an unknown number is stored a decoy (a code nobody receives), so that
    // its verifies answer exactly as a registered number's do. A decoy is no send: it does not
    // count towards the fraud guard, or an attacker could pause a prefix without paying an SMS.
    const known = config.disableSignup ? await isKnownUser(phone.e164, client.clientId, request) : true;
    const plan = limits?.start(addressKey(address, subnet), phone.e164, client.clientId, tag, known && testCode === undefined);
    if (!known) record.hash = keys.codeHash(phone.e164, client.clientId, binding, generateCode(config.otp.length));
    // The store's deadline starts after the users hook: a slow user database is not a Redis outage.
    const ctx = context(now);
    const saved: Saved = { key, record, takenBy: await takeAndSave(plan, key, record, ctx, phone.e164, client.clientId) };
    // Under disableSignup a test number is a user like any other, or a decoy like any other.
    if (testCode !== undefined && known) {
      logEvent(logger, 'test_number_used', { phone: phone.e164, clientId: client.clientId });
      return answer;
    }
    if (!known) {
      logEvent(logger, 'login_failed', { phone: phone.e164, clientId: client.clientId, reason: 'unknown_user' });
      if (!config.sendInBackground) await sends.wait();
      return answer;
    }
    const sms = { to: phone.e164, body: message.body, clientId: client.clientId, language: message.requestLanguage, request };
    if (config.sendInBackground) {
      // Answered now; a failure is logged (send_failed) and gives the limits back, except under
      // disableSignup, where a decoy's limits stay spent and a refund would tell the two apart.
      // close() waits for it: a graceful shutdown must not drop an SMS the user was told is coming.
      track(deliver(config.sender, sms, code, phone, plan, saved, ctx, !config.disableSignup));
      return answer;
    }
    await deliver(config.sender, sms, code, phone, plan, saved, ctx);
    return answer;
  }

  async function isKnownUser(phone: string, clientId: string, request: { ip: string; userAgent: string }): Promise<boolean> {
    try {
      return await isKnown(config.users, phone, { clientId, request });
    } catch (err) {
      throw hookFailure(err);
    }
  }

  function hookFailure(err: unknown): PasswordlessError {
    if (err instanceof HookError) {
      logEvent(logger, 'hook_error', { message: err.message });
      return fail('hookFailed');
    }
    return err instanceof PasswordlessError ? err : fail('internal');
  }

  /**
   * The store's verify under the current secret, then (only while no code was found) the older
   * ones. With the code store and the limits in one Redis, its script checks and counts the
   * limits with the code. Otherwise the failure buckets are taken before the code is tried
   * (checked and counted as one step, so concurrent guesses from one address cannot all pass a
   * check made before any of them was counted) and given back unless the code was a wrong one.
   */
  async function verifyInStore(
    input: RedeemInput,
    code: string,
    ctx: StoreContext,
    tag: string,
    plan: VerifyPlan | undefined,
  ): Promise<VerifyResult & { refused?: Refusal }> {
    const binding = input.binding ?? '';
    const { phone } = input;
    const clientId = input.client.clientId;
    const keys = keyring.current;
    const key = storeKey(keys, tag, clientId, binding);
    const hash = keys.codeHash(phone, clientId, binding, code);
    const taken = plan && limits && !fused ? failureBuckets(plan) : [];
    const backend = limits?.backend as LimitBackend;
    const giveBackTaken = () =>
      later('give back the limits of a verify', () => backend.give(taken, undefined, ctx.now, Date.now() + timeoutMs));
    if (taken.length > 0) {
      let full: TakeResult;
      try {
        full = await guarded(() => backend.take(taken, undefined, ctx.now, ctx.deadline as number));
      } catch (err) {
        // A lost reply may hide a take that counted: a failure of the limits is no wrong guess.
        giveBackTaken();
        throw err;
      }
      if (full.refused) return { outcome: 'invalid', refused: full.refused };
    }
    let result: (VerifyResult & { refused?: Refusal }) | undefined;
    let older = false;
    try {
      result = await guarded(() => (fused && plan ? fused.verifyCode(key, hash, ctx, plan) : store.verify(key, hash, ctx)));
      if (result.refused) return result;
      // Codes pending from before a secret rotation live under the older secrets' keys.
      for (const old of result.outcome === 'invalid' && result.pending === false ? keyring.previous : []) {
        const previous = await guarded(() =>
          store.verify(storeKey(old, tag, clientId, binding), old.codeHash(phone, clientId, binding, code), ctx),
        );
        if (previous.outcome !== 'invalid' || previous.pending !== false) {
          // Counted like any code's outcome (a rotation must not open a window without limits):
          // a fused script counted only what it saw under the current key.
          if (fused && plan && isWrongCode(previous))
            await guarded(() => backend.count(failureBuckets(plan), ctx.now, ctx.deadline as number));
          result = previous;
          older = true;
          break;
        }
      }
    } finally {
      // Taken before the code was tried: kept for a wrong code only (a store failure is none).
      if (taken.length > 0 && !isWrongCode(result)) giveBackTaken();
    }
    // A login resets the number's failures (per address) and counts a redemption for the fraud
    // guard (the fused script did both for a code under the current key). Not awaited: the code
    // is spent, and a slow limits store must not turn the login into a 503.
    if (plan && limits && result.outcome === 'ok' && (!fused || older)) {
      const { phone: number, fraud } = plan;
      later('count a login in the limits', () => backend.succeeded(number ? [number] : [], fraud, ctx.now, Date.now() + timeoutMs));
    }
    return result;
  }

  /** A wrong code's outcome: counts against the number (per address) and the address. Anything else is not. */
  function isWrongCode(result: (VerifyResult & { refused?: Refusal }) | undefined): boolean {
    return result !== undefined && result.outcome === 'invalid' && result.pending !== false && result.refused === undefined;
  }

  /**
   * Limits work sent once a verify's outcome is known, not awaited: no outcome waits longer than
   * a wrong guess for it, and a failure is logged, never the answer's. A later request reaches
   * the backend after it (memoryLimits runs at once; a Redis client sends in order).
   */
  function later(what: string, work: () => Promise<unknown>): void {
    Promise.resolve()
      .then(work)
      .catch((err: unknown) => logLateFailure(what, err));
  }

  /** Limits work that failed where no answer can tell (after the answer, or on a path already failing): logged. */
  function logLateFailure(what: string, err: unknown): void {
    metrics.storeError();
    logEvent(logger, 'store_error', { message: `could not ${what}: ${err instanceof Error ? err.message : String(err)}` });
  }

  /** The metrics' `error` outcome of a verify: an outage or a hook's failure, not an answer about the code. */
  function countedVerifyError(err: unknown): unknown {
    if (!(err instanceof PasswordlessError) || err.status >= 500) metrics.verify('error');
    return err;
  }

  /** A verify, counted in the metrics by how it was answered. */
  async function redeem(input: RedeemInput): Promise<Redeemed> {
    const now = config.now();
    const code = input.code.slice(0, MAX_CODE_INPUT);
    const clientId = input.client.clientId;
    // The same end-user address as on start: a backend's users do not share its failure count.
    const address = endUserAddress(input, input.client);
    const request = { ip: address, userAgent: input.request.userAgent };
    const tag = numberKey(input.phone);
    // A test number's login is no redemption of an SMS (its start sent none): not one for the fraud guard.
    const plan = limits?.verify(addressKey(address, subnet), input.phone, tag, !config.testNumbers.has(input.phone));
    let result: Awaited<ReturnType<typeof verifyInStore>>;
    try {
      result = await verifyInStore(input, code, context(now), tag, plan);
    } catch (err) {
      throw countedVerifyError(err);
    }
    if (result.refused) {
      metrics.verify('refused');
      throw refusal(result.refused, input.phone, clientId, plan?.fraud);
    }
    if (result.outcome !== 'ok') {
      metrics.verify(result.outcome);
      logEvent(logger, 'login_failed', {
        phone: input.phone,
        clientId,
        reason: result.outcome === 'exhausted' ? 'too_many_attempts' : 'invalid_code',
      });
      if (result.outcome === 'exhausted') throw input.grant === 'token' ? fail('tokenMaxAttempts') : fail('tooManyAttempts');
      throw fail('wrongCode');
    }
    const base: PasswordlessUser = { user_id: keyring.userId(input.phone), phone_number: input.phone, phone_verified: true };
    let user: PasswordlessUser | undefined;
    try {
      user = await resolveUser(base, config.users, config.disableSignup, input.phone, { clientId, request });
    } catch (err) {
      throw countedVerifyError(hookFailure(err));
    }
    if (!user) {
      // Sign-up is off and the number has no user: the same answer as a wrong code.
      metrics.verify('invalid');
      logEvent(logger, 'login_failed', { phone: input.phone, clientId, reason: 'unknown_user' });
      throw fail('wrongCode');
    }
    metrics.verify('ok');
    return { user, nonce: result.data };
  }

  async function close(waitMs = CLOSE_WAIT_MS): Promise<void> {
    // Starts that arrive while closing add sends of their own: wait until none is left, but not
    // for ever (a custom sender may never settle).
    const until = Date.now() + waitMs;
    while (inFlight.size > 0 && Date.now() < until) {
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, until - Date.now())));
      await Promise.race([Promise.all([...inFlight]), waited]);
      clearTimeout(timer);
    }
    // Said, not dropped silently: what is left may still send an SMS, or give its limits back, unlogged.
    if (inFlight.size > 0)
      logEvent(logger, 'internal_error', {
        message: `close() stopped waiting after ${waitMs / 1000} s with ${inFlight.size} background send(s) still in flight: their SMS may still go out, and what happens to them is no longer logged.`,
      });
    for (const stop of stopHearing) stop();
  }

  return Object.freeze({ config, limits, start, redeem, authenticate, readPhone, close });
}
