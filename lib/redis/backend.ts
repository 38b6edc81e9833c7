/**
 * Codes and limits in Redis, through the scripts of `scripts.ts`. One object serves as the
 * code store, as the limits' backend, or as both: when the code store and the limits share
 * it (the default for `redisStore`), a start is one script call that checks and counts every
 * bucket and saves the code, and a verify is one that checks the limits, compares, counts and
 * consumes. On a Redis Cluster the keys of one number, of one address, of one prefix and the
 * global ones each share a hash slot (`{…}` tags); a request then makes one call per slot
 * group, the number's last, so that nothing of the number is spent before the others agreed.
 */
import { newId } from '../core/crypto';
import { unavailable } from '../errors';
import { withTimeout } from '../timeout';
import type { Bucket, FraudCheck, LimitBackend, Refusal, TakeResult } from '../limits/types';
import type { CodeRecord, RemovedCode, StoreContext, VerifyResult } from '../types';
import { redisRunner, type RedisRunner, type Script } from './client';
import { COUNT, DROP, GIVE, SUCCEEDED, TAKE, VERIFY } from './scripts';

const SCRIPTS = [COUNT, DROP, GIVE, SUCCEEDED, TAKE, VERIFY];

/**
 * How much longer than the deadline Node waits for a reply. A script refuses to start after
 * the deadline (on Redis's clock), so a reply can only come late by the script's own run time;
 * waiting this margin means no script runs after its request was answered, provided the two
 * clocks agree within it (NTP keeps them within milliseconds).
 */
const REPLY_MARGIN_MS = 250;

/** The hash tag of a bucket's key: its group and key, so that the buckets of one number or address share a slot. */
function slotTag(b: Bucket): string {
  return `${b.group[0]}:${b.key}`;
}

/** What a store key's number part is (the core's keys are `<number tag>.<code key>`). */
function numberTag(key: string): string | undefined {
  const dot = key.indexOf('.');
  return dot > 0 ? key.slice(0, dot) : undefined;
}

export interface RedisBackendOptions {
  client: unknown;
  prefix: string;
  timeoutMs: number;
  option: string;
}

/**
 * Appends each bucket's limit and window, the arguments every script reads after its fixed
 * ones. A loop, not `flatMap` and a spread: those cost about 2 µs per call, on every request.
 */
function pushLimitArgs(args: string[], buckets: readonly Bucket[]): void {
  for (const b of buckets) args.push(String(b.limit), String(b.windowMs));
}

/** How long Redis keeps a fraud record: the current and previous windows, and a pause. */
function fraudTtl(f: FraudCheck): number {
  return f.settings.windowMs * 2 + f.settings.blockMs;
}

/** One start's work for TAKE: its buckets, its fraud-guard prefix and, when given, the code to save. */
export interface TakeRequest {
  buckets: readonly Bucket[];
  fraud: FraudCheck | undefined;
  now: number;
  deadline: number;
  save?: { key: string; record: CodeRecord; ttlMs: number } | undefined;
}

/**
 * What the log says when a call finds the client not connected: it was never connected (the
 * usual slip) or it is reconnecting after an outage. The request is answered 503 either way.
 */
const NOT_CONNECTED =
  'the Redis client is not connected: connect it before serving requests (node-redis, or ioredis with lazyConnect: await client.connect()), or it was closed (quit: await auth.close() before closing the client, so that background sends still in flight finish; a timed-out send that settles later still reaches Redis, up to its timeout and 30 s more after its start), or it is reconnecting after an outage';

/** What the log says when the clocks of this host and Redis (`redis` − `here`, in ms) are apart at a script load. */
function clockApart(apartMs: number): string {
  const ms = Math.round(Math.abs(apartMs));
  return apartMs < 0
    ? `This host's clock is ${ms} ms ahead of Redis's (TIME): scripts judge deadlines on Redis's clock, so after a Redis stall, calls of requests already answered 503 can still run (a wrong guess counts, a start's cooldown starts). Sync this host and Redis with NTP; they must agree within ${REPLY_MARGIN_MS} ms.`
    : `Redis's clock is ${ms} ms ahead of this host's (TIME): scripts judge deadlines on Redis's clock, so requests will be judged late and answered 503. Sync this host and Redis with NTP; they must agree within ${REPLY_MARGIN_MS} ms.`;
}

/** What the log says when Redis's clock is ahead of this host's by more than a request's deadline allows. */
function clockSkew(leftMs: number): string {
  return `Redis judged the call late on its own clock (TIME) while ${Math.round(leftMs)} ms of its deadline were left on this host: the two clocks differ by more than that. Sync this host and Redis with NTP.`;
}

/** A late or failed Redis call: the request is answered 503 and nothing was (or will be) done. */
class Late extends Error {}

export class RedisBackend implements LimitBackend {
  readonly kind = 'redis' as const;
  readonly runner: RedisRunner;
  readonly prefix: string;
  readonly timeoutMs: number;
  readonly client: unknown;

  /** Told of a call sent after an answer that failed: each login using this Redis logs it. */
  private readonly lateFailureListeners = new Set<(what: string, err: unknown) => void>();
  /** Told of a clock apart from Redis's: each login using this Redis logs it as a `config_warning`. */
  private readonly warningListeners = new Set<(message: string) => void>();

  /**
   * Whether the first load of every script on every master has settled; until then a call
   * waits for it. A script first met by a node as NOSCRIPT is resent with its source, and a
   * request sent meanwhile on the same connection can overtake that resend: a give-back would
   * land after the next request's take and count one too many for a moment. Loading every
   * script up front leaves that to a node that lost its cache (a restart, a failover), which
   * makes the scripts load again in the background: no call waits for a reload, so one master
   * that does not answer cannot hold up the calls to the others.
   */
  private scriptsLoaded = false;
  private loading: Promise<void> | undefined;

  constructor(options: RedisBackendOptions) {
    this.runner = redisRunner(options.client, options.option, () => void this.loadScripts());
    this.client = options.client;
    this.prefix = options.prefix;
    this.timeoutMs = options.timeoutMs;
  }

  /** The Redis key of a code: in its number's slot. */
  codeKey(key: string): string {
    const tag = numberTag(key);
    return tag ? `${this.prefix}{n:${tag}}:code:${key.slice(tag.length + 1)}` : `${this.prefix}code:${key}`;
  }

  bucketKey(b: Bucket): string {
    return `${this.prefix}{${slotTag(b)}}:rl:${b.name}${b.sub === undefined ? '' : `:${b.sub}`}`;
  }

  fraudKey(f: FraudCheck): string {
    return `${this.prefix}{p:${f.key}}:fraud`;
  }

  /**
   * One script call within the request's deadline: a 503 when the deadline has passed, an error
   * naming the fix when the client is not connected (the login logs it and answers 503).
   */
  private async call(s: Script, keys: string[], args: string[], deadline: number): Promise<unknown[]> {
    const remaining = deadline - Date.now();
    if (!this.runner.ready()) throw new Error(NOT_CONNECTED);
    if (remaining <= 0) throw unavailable();
    try {
      const argv = [String(deadline), ...args];
      const sent = this.scriptsLoaded ? this.runner.run(s, keys, argv) : this.runAfterLoad(s, keys, argv, deadline);
      const reply = (await withTimeout(sent, remaining + REPLY_MARGIN_MS, () => new Late())) as unknown[];
      if (Number(reply[0]) === -1) {
        // Redis found the deadline passed on its own clock while this host's had time left:
        // not a slow Redis but clocks apart, which fails every request until they are synced.
        const left = deadline - Date.now();
        if (left > REPLY_MARGIN_MS) throw new Error(clockSkew(left));
        throw new Late();
      }
      return reply;
    } catch (err) {
      if (err instanceof Late) throw unavailable();
      throw err;
    }
  }

  /**
   * A call made while the first load is under way: sent once it settles, if the client is still
   * connected and the deadline not passed (a command queued on a closed connection would run
   * whenever Redis returns).
   */
  private async runAfterLoad(s: Script, keys: string[], argv: string[], deadline: number): Promise<unknown> {
    await this.loadScripts();
    if (!this.runner.ready() || Date.now() >= deadline) throw new Late();
    return this.runner.run(s, keys, argv);
  }

  /**
   * Loads every script on every master, once for all the calls waiting on it, for at most
   * `timeoutMs`. Never fails: a Redis that refuses SCRIPT LOAD (an ACL that allows only
   * EVALSHA and EVAL), is down or is slow still gets the calls, which then answer for
   * themselves (NOSCRIPT falls back to EVAL). Not repeated until a node answers NOSCRIPT again.
   */
  private loadScripts(): Promise<void> {
    // The clocks are read with the loads, on the same connections: no round trip of its own.
    this.loading ??= withTimeout(Promise.all([this.runner.load(SCRIPTS), this.checkClocks()]), this.timeoutMs, () => new Late())
      .catch(() => undefined)
      .then(() => {
        this.scriptsLoaded = true;
        this.loading = undefined;
      });
    return this.loading;
  }

  /**
   * Compares this host's clock with every master's (TIME) when the scripts load (at the first
   * request, and again after a restart or a failover), and warns when one is apart by more than
   * the reply margin. Scripts judge deadlines on Redis's clock: a Redis behind this host would
   * run, when it returns from a stall, calls whose requests were answered 503 (a wrong guess
   * would count, a start's cooldown would start), and nothing else would show it. Never fails.
   */
  private async checkClocks(): Promise<void> {
    try {
      const before = Date.now();
      const clocks = await withTimeout(this.runner.clocks(), this.timeoutMs, () => new Late());
      const after = Date.now();
      // Where TIME was read is anywhere between sending and the reply: that half counts for Redis.
      const here = (before + after) / 2;
      const slack = REPLY_MARGIN_MS + (after - before) / 2;
      const apart = clocks.map((t) => t - here).reduce((worst, d) => (Math.abs(d) > Math.abs(worst) ? d : worst), 0);
      if (Math.abs(apart) <= slack) return;
      const message = clockApart(apart);
      for (const listener of this.warningListeners) {
        try {
          listener(message);
        } catch {
          // A listener's own failure must not stop the others.
        }
      }
    } catch {
      // A Redis that refuses TIME, or is gone again, is judged by the requests themselves.
    }
  }

  /** Hears of a clock apart from Redis's (a login registers its logger here); returns what stops it. */
  onWarning(listener: (message: string) => void): () => void {
    this.warningListeners.add(listener);
    return () => this.warningListeners.delete(listener);
  }

  /** The deadline of a call made outside a request (a store used on its own). */
  deadlineOf(ctx?: StoreContext): number {
    return ctx?.deadline ?? Date.now() + this.timeoutMs;
  }

  /** The calls one operation makes: all buckets in one on a single Redis, one per slot on a cluster. */
  private slotGroups(buckets: readonly Bucket[]): ReadonlyArray<readonly Bucket[]> {
    return this.runner.cluster ? this.bySlot(buckets) : [buckets];
  }

  /**
   * The buckets by hash slot: a number's or an address's share one, but each global limit has
   * its own key (all sends, a client, a number prefix) and so its own slot.
   */
  private bySlot(buckets: readonly Bucket[]): Bucket[][] {
    const slots = new Map<string, Bucket[]>();
    for (const b of buckets) {
      const tag = slotTag(b);
      const list = slots.get(tag);
      if (list) list.push(b);
      else slots.set(tag, [b]);
    }
    return [...slots.values()];
  }

  private takeArgs(
    buckets: readonly Bucket[],
    fraud: FraudCheck | undefined,
    now: number,
    save?: { key: string; record: CodeRecord; ttlMs: number },
  ): { keys: string[]; args: string[] } {
    const keys = buckets.map((b) => this.bucketKey(b));
    const args = [String(now), String(buckets.length), fraud ? '1' : '0', save ? '1' : '0'];
    pushLimitArgs(args, buckets);
    if (fraud) {
      keys.push(this.fraudKey(fraud));
      const f = fraud.settings;
      args.push(String(f.minSends), String(f.minConversion), String(f.windowMs), String(f.blockMs), fraud.counts ? '1' : '0');
    }
    if (save) {
      keys.push(this.codeKey(save.key));
      const r = save.record;
      args.push(r.hash, String(r.expiresAt), String(save.ttlMs), r.id, r.data ?? '');
    }
    return { keys, args };
  }

  private async takeOne({ buckets, fraud, now, deadline, save }: TakeRequest): Promise<TakeResult> {
    const { keys, args } = this.takeArgs(buckets, fraud, now, save);
    const reply = await this.call(TAKE, keys, args, deadline);
    const status = Number(reply[0]);
    if (status === 0) return {};
    if (status === 1) {
      const b = buckets[Number(reply[1]) - 1] as Bucket;
      return { refused: { bucket: b.name, refusal: b.refusal, retryAfterMs: Number(reply[2]) } };
    }
    const refused: Refusal = { bucket: 'fraudGuard', refusal: 'fraudPause', retryAfterMs: Number(reply[1]) };
    return status === 3 ? { refused, paused: { sends: Number(reply[2]), redemptions: Number(reply[3]) } } : { refused };
  }

  /**
   * Checks and counts every bucket (and saves the code, when given) as one step. On a
   * cluster: the other groups first, each atomic and in parallel; the prefix only when they all
   * agreed (the single script checks every bucket first: a refused start must not pause a
   * prefix unseen); the number's group, with the code, last. What was counted is given back if
   * a later group refuses or a call fails, as the single script would have counted nothing.
   */
  async takeAndSave(request: TakeRequest): Promise<TakeResult> {
    const { buckets, fraud, now, deadline, save } = request;
    if (!this.runner.cluster) return this.takeOne(request);
    const numberBuckets = buckets.filter((b) => b.group === 'number');
    const firsts = this.bySlot(buckets.filter((b) => b.group !== 'number'));
    const counted: Array<{ buckets: readonly Bucket[]; fraud?: FraudCheck }> = [];
    try {
      const results = await Promise.allSettled(firsts.map((g) => this.takeOne({ buckets: g, fraud: undefined, now, deadline })));
      results.forEach((r, i) => {
        if (r.status === 'fulfilled' && !r.value.refused) counted.push({ buckets: firsts[i] as Bucket[] });
      });
      for (const r of results) if (r.status === 'rejected') throw r.reason;
      const refused = results.map((r) => (r as PromiseFulfilledResult<TakeResult>).value).find((v) => v.refused);
      if (refused) return this.givingBack(counted, now, deadline, refused);
      if (fraud) {
        const judged = await this.takeOne({ buckets: [], fraud, now, deadline });
        if (judged.refused) return this.givingBack(counted, now, deadline, judged);
        // A start that sends nothing (a test number, a decoy) was judged but not counted.
        if (fraud.counts) counted.push({ buckets: [], fraud });
      }
      // Nothing of the number's to count and no code to keep (the limits alone, the number's off): no call.
      if (numberBuckets.length === 0 && !save) return {};
      const last = await this.takeOne({ buckets: numberBuckets, fraud: undefined, now, deadline, save });
      return last.refused ? this.givingBack(counted, now, deadline, last) : {};
    } catch (err) {
      this.givingBack(counted, now, deadline, undefined);
      throw err;
    }
  }

  /** Sends back what a refused or failed start counted, after its answer, and returns `result`. */
  private givingBack<T>(
    counted: ReadonlyArray<{ buckets: readonly Bucket[]; fraud?: FraudCheck }>,
    now: number,
    deadline: number,
    result: T,
  ): T {
    this.afterAnswer('give back the limits of a start', deadline, (by) => counted.map((c) => this.give(c.buckets, c.fraud, now, by)));
    return result;
  }

  /**
   * Calls sent once a request's outcome is known, not awaited, each with a deadline of its own
   * (the request's, or a fresh one if that is too close): a failure leaves a count, never the
   * answer's, and is told to the logins using this Redis (`onLateFailure`), which log it. A
   * later request reaches the same node behind them, on the same connection.
   */
  private afterAnswer(what: string, deadline: number, calls: (by: number) => ReadonlyArray<Promise<unknown> | undefined>): void {
    void Promise.all(calls(this.laterDeadline(deadline))).catch((err: unknown) => {
      for (const listener of this.lateFailureListeners) {
        try {
          listener(what, err);
        } catch {
          // Nothing waits on these calls: a listener's own failure must not become an unhandled rejection.
        }
      }
    });
  }

  /**
   * Hears of the calls sent after an answer that failed (a login registers its logger here).
   * Returns what stops it: a closed login's logger is let go, however many share this Redis.
   */
  onLateFailure(listener: (what: string, err: unknown) => void): () => void {
    this.lateFailureListeners.add(listener);
    return () => this.lateFailureListeners.delete(listener);
  }

  /** The deadline of a call that follows a request's answer: the request's, or a fresh one if that is too close. */
  private laterDeadline(deadline: number): number {
    return Math.max(deadline, Date.now() + this.timeoutMs);
  }

  take(buckets: readonly Bucket[], fraud: FraudCheck | undefined, now: number, deadline: number): Promise<TakeResult> {
    return this.takeAndSave({ buckets, fraud, now, deadline });
  }

  async give(buckets: readonly Bucket[], fraud: FraudCheck | undefined, now: number, deadline: number, takenBy?: number): Promise<void> {
    const groups = this.slotGroups(buckets);
    const calls: Array<[readonly Bucket[], FraudCheck | undefined]> = groups.filter((g) => g.length > 0).map((g) => [g, undefined]);
    if (fraud) {
      if (this.runner.cluster) calls.push([[], fraud]);
      else if (calls[0]) calls[0] = [calls[0][0], fraud];
      else calls.push([[], fraud]);
    }
    await Promise.all(
      calls.map(([g, f]) => {
        const keys = g.map((b) => this.bucketKey(b));
        const args = [String(now), String(g.length), f ? '1' : '0', takenBy === undefined ? '' : String(takenBy)];
        pushLimitArgs(args, g);
        if (f) {
          keys.push(this.fraudKey(f));
          args.push(String(f.settings.minSends), String(f.settings.minConversion), String(f.settings.windowMs));
        }
        return this.call(GIVE, keys, args, deadline);
      }),
    );
  }

  async peek(buckets: readonly Bucket[], now: number, deadline: number): Promise<Refusal | undefined> {
    const groups = this.slotGroups(buckets);
    const refusals = await Promise.all(
      groups.map(async (g) => {
        // VERIFY without a code is a read-only check of up to two buckets; wider checks loop.
        for (const b of g) {
          const reply = await this.call(
            VERIFY,
            [this.bucketKey(b)],
            [String(now), '1', '0', '0', '0', String(b.limit), String(b.windowMs), '0', '0', '0', '0', '', '0'],
            deadline,
          );
          if (Number(reply[0]) === 3) return { bucket: b.name, refusal: b.refusal, retryAfterMs: Number(reply[1]) };
        }
        return undefined;
      }),
    );
    return refusals.find(Boolean);
  }

  async count(buckets: readonly Bucket[], now: number, deadline: number): Promise<void> {
    const groups = this.slotGroups(buckets);
    await Promise.all(
      groups
        .filter((g) => g.length > 0)
        .map((g) => {
          const args = [String(now), String(g.length)];
          pushLimitArgs(args, g);
          return this.call(
            COUNT,
            g.map((b) => this.bucketKey(b)),
            args,
            deadline,
          );
        }),
    );
  }

  async succeeded(buckets: readonly Bucket[], fraud: FraudCheck | undefined, now: number, deadline: number): Promise<void> {
    const fraudArgs = (f: FraudCheck) => [String(f.settings.windowMs), String(fraudTtl(f))];
    if (!this.runner.cluster) {
      const keys = buckets.map((b) => this.bucketKey(b));
      if (fraud) keys.push(this.fraudKey(fraud));
      await this.call(
        SUCCEEDED,
        keys,
        [String(now), String(buckets.length), fraud ? '1' : '0', ...(fraud ? fraudArgs(fraud) : [])],
        deadline,
      );
      return;
    }
    await Promise.all([
      ...this.bySlot(buckets).map((g) =>
        this.call(
          SUCCEEDED,
          g.map((b) => this.bucketKey(b)),
          [String(now), String(g.length), '0'],
          deadline,
        ),
      ),
      ...(fraud ? [this.call(SUCCEEDED, [this.fraudKey(fraud)], [String(now), '0', '1', ...fraudArgs(fraud)], deadline)] : []),
    ]);
  }

  /**
   * One verify: the address and number limits, then the code's check-count-consume, with the
   * failure or success counted in the same step. On a cluster the address bucket and the fraud
   * record live in other slots. The address's failure is then taken before the number's script
   * runs (checked and counted as one step, so concurrent guesses from one address cannot all
   * slip past a check made before any of them was counted) and given back, with the prefix's
   * redemption on a login, when the code was not a wrong one. Every outcome answers after those
   * two calls, one per slot: the follow-ups are sent, not awaited (below).
   *
   * What this order costs: while a login or a never-sent code is in flight its address holds
   * one count, so an address one short of its limit can be refused by a concurrent verify.
   */
  async verifyCode(
    key: string,
    hash: string,
    ctx: StoreContext,
    limits: { address?: Bucket | undefined; phone?: Bucket | undefined; fraud?: FraudCheck | undefined } = {},
  ): Promise<VerifyResult & { refused?: Refusal }> {
    const deadline = this.deadlineOf(ctx);
    if (!this.runner.cluster) return this.verifyOne(key, hash, ctx, deadline, limits);
    const { address, fraud } = limits;
    if (address) {
      let taken: TakeResult;
      try {
        taken = await this.takeOne({ buckets: [address], fraud: undefined, now: ctx.now, deadline });
      } catch (err) {
        // A lost reply may hide a take that counted: a failure of Redis is no wrong guess.
        this.followUp(address, undefined, ctx.now, deadline);
        throw err;
      }
      if (taken.refused) return { outcome: 'invalid', refused: taken.refused };
    }
    let result: VerifyResult & { refused?: Refusal };
    try {
      result = await this.verifyOne(key, hash, ctx, deadline, { phone: limits.phone });
    } catch (err) {
      // Redis failed or was late: no failure of this user's to count.
      this.followUp(address, undefined, ctx.now, deadline);
      throw err;
    }
    if (result.outcome !== 'invalid' || result.pending !== true)
      this.followUp(address, result.outcome === 'ok' ? fraud : undefined, ctx.now, deadline);
    return result;
  }

  /**
   * Gives the address's count back and counts a login's redemption, after the answer: a
   * never-sent or used-up code answers after as many calls as a wrong one (no timing tells them
   * apart), and a reply lost after the code was spent cannot turn a login into a 503.
   */
  private followUp(address: Bucket | undefined, fraud: FraudCheck | undefined, now: number, deadline: number): void {
    this.afterAnswer(fraud ? "give back a login's address and count the login" : "give back a verify's address", deadline, (by) => [
      address ? this.give([address], undefined, now, by) : undefined,
      fraud ? this.succeeded([], fraud, now, by) : undefined,
    ]);
  }

  /** The number's script: its bucket, the code and (on a single Redis) the address and prefix. */
  private async verifyOne(
    key: string,
    hash: string,
    ctx: StoreContext,
    deadline: number,
    limits: { address?: Bucket | undefined; phone?: Bucket | undefined; fraud?: FraudCheck | undefined },
  ): Promise<VerifyResult & { refused?: Refusal }> {
    const { address, phone, fraud } = limits;
    const keys: string[] = [];
    if (address) keys.push(this.bucketKey(address));
    if (phone) keys.push(this.bucketKey(phone));
    if (fraud) keys.push(this.fraudKey(fraud));
    keys.push(this.codeKey(key));
    const args = [
      String(ctx.now),
      address ? '1' : '0',
      phone ? '1' : '0',
      fraud ? '1' : '0',
      '1',
      String(address?.limit ?? 0),
      String(address?.windowMs ?? 0),
      String(phone?.limit ?? 0),
      String(phone?.windowMs ?? 0),
      String(fraud?.settings.windowMs ?? 0),
      String(fraud ? fraudTtl(fraud) : 0),
      hash,
      String(ctx.maxAttempts),
      // Tells this call's own redemption from any other, should the client run it twice.
      newId(),
    ];
    const reply = await this.call(VERIFY, keys, args, deadline);
    const status = Number(reply[0]);
    if (status === 3 && address)
      return { outcome: 'invalid', refused: { bucket: address.name, refusal: address.refusal, retryAfterMs: Number(reply[1]) } };
    if (status === 4 && phone)
      return { outcome: 'invalid', refused: { bucket: phone.name, refusal: phone.refusal, retryAfterMs: Number(reply[1]) } };
    if (status === 1) return reply[1] ? { outcome: 'ok', data: String(reply[1]) } : { outcome: 'ok' };
    if (status === 6) return { outcome: 'invalid', pending: true };
    return status === 2 ? { outcome: 'exhausted' } : { outcome: 'invalid', pending: false };
  }

  async saveCode(key: string, record: CodeRecord, ctx: StoreContext): Promise<void> {
    await this.takeOne({
      buckets: [],
      fraud: undefined,
      now: ctx.now,
      deadline: this.deadlineOf(ctx),
      save: { key, record, ttlMs: ctx.ttlMs },
    });
  }

  /**
   * Removes the code of a send that failed. That is known only after the send, which may
   * outlast the request's deadline (a slow provider error): the removal gets a deadline of its
   * own, like the limits given back, rather than leaving a code pending that nobody received.
   * A script, not a plain DEL: bounded by the deadline, and a no-op if it reaches Redis late.
   */
  async removeCode(key: string, ctx?: StoreContext, id?: string): Promise<RemovedCode> {
    const reply = await this.call(DROP, [this.codeKey(key)], [id ?? ''], this.laterDeadline(this.deadlineOf(ctx)));
    const attempts = Number(reply[1]);
    return attempts >= 0 ? { removed: true, attempts } : { removed: false, attempts: 0 };
  }
}
