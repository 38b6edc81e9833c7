/** The longest delay a Node timer keeps: a longer one fires at once. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/**
 * Bounds a promise in time: a dependency that hangs must become an answer, not a stuck request.
 * One promise and one Node timer; for bounds of many lengths (each Redis call's is what is left
 * of its request's). A late settlement of `promise` is still handled, so it is never unhandled.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => rejectTimedOut(reject, onTimeout), Math.min(ms, LONGEST_TIMER_MS));
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** Rejects with the timeout's error; one that cannot be made is the rejection, never thrown from a timer (it would end the process). */
function rejectTimedOut(reject: (err: unknown) => void, onTimeout: () => Error): void {
  try {
    reject(onTimeout());
  } catch (err) {
    reject(err);
  }
}

/** One bounded promise waiting in a `fixedTimeout` queue; unlinked when it settles. */
interface Waiting {
  at: number;
  prev: Waiting | undefined;
  next: Waiting | undefined;
  reject: ((err: unknown) => void) | undefined;
  onTimeout: (() => Error) | undefined;
}

/** Bounds promises by one fixed length: `withTimeout` with that `ms`, behind one timer. */
export type FixedTimeout = <T>(promise: Promise<T>, onTimeout: () => Error) => Promise<T>;

/**
 * `withTimeout` for bounds that all have the same length (a sender's `timeoutMs`): their
 * deadlines then come in order, so they wait in a list, oldest first, behind one Node timer
 * armed for the oldest. A Node timer per send (a `setTimeout` and a `clearTimeout` on every
 * start) cost 2-3 % of a start's CPU in the bench's server, measured side by side. A promise
 * that settles leaves the list at once (memory follows what is pending, not the send rate), and
 * the timer holds the process open only while something is pending, as a timer per call did.
 * The timer's own clock decides: a deadline is due once the timer armed for it fires, so the
 * timeouts follow whatever clock drives `setTimeout` (a test's fake timers too; a send started
 * later in real time, with fake timers that leave `performance.now()` real, times out that much
 * later on the fake clock).
 */
export function fixedTimeout(ms: number): FixedTimeout {
  const length = Math.min(ms, LONGEST_TIMER_MS);
  let first: Waiting | undefined;
  let last: Waiting | undefined;
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;
  /** The deadline the timer was armed for. */
  let armedFor = 0;
  /** Inside `expire`, which arms the timer itself once done (an `onTimeout` may bound another promise). */
  let expiring = false;

  function unlink(w: Waiting): void {
    if (w.prev) w.prev.next = w.next;
    else first = w.next;
    if (w.next) w.next.prev = w.prev;
    else last = w.prev;
    w.prev = w.next = undefined;
    w.reject = w.onTimeout = undefined;
    pending -= 1;
    if (pending === 0) timer?.unref();
  }

  function arm(at: number, delay: number): void {
    armedFor = at;
    timer = setTimeout(expire, Math.max(1, Math.ceil(delay)));
    if (pending === 0) timer.unref();
  }

  /** Rejects what was due by the deadline the timer was armed for (or by now), then waits for the next. */
  function expire(): void {
    timer = undefined;
    expiring = true;
    const now = performance.now();
    const due = Math.max(now, armedFor);
    while (first && first.at <= due) {
      const w = first;
      const { reject, onTimeout } = w;
      unlink(w);
      rejectTimedOut(reject as (err: unknown) => void, onTimeout as () => Error);
    }
    expiring = false;
    // The wait left, on the timer's clock: never longer than the gap between the two deadlines.
    if (first) arm(first.at, Math.min(first.at - now, first.at - armedFor));
  }

  return function bounded<T>(promise: Promise<T>, onTimeout: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const w: Waiting = { at: performance.now() + length, prev: last, next: undefined, reject, onTimeout };
      if (last) last.next = w;
      else first = w;
      last = w;
      pending += 1;
      // A timer that should have fired a whole bound ago never will (a test's fake timers,
      // uninstalled before they ran it): replaced, or this sender's sends would never time out.
      if (timer && w.at - armedFor > 2 * length) {
        clearTimeout(timer);
        timer = undefined;
      }
      if (pending === 1) timer?.ref();
      if (!timer && !expiring) arm(w.at, length);
      // A plain value or a thenable (a user-supplied client's) settles through the list like a promise.
      Promise.resolve(promise).then(
        (value) => {
          if (w.reject) unlink(w);
          resolve(value);
        },
        (err: unknown) => {
          if (w.reject) unlink(w);
          reject(err);
        },
      );
    });
  };
}

/**
 * Whether a late outcome says yes within `ms`: its answer, or `false` when it fails or has not
 * answered by then. The timer does not hold the process open (nobody waits on the answer).
 */
export function trueWithin(outcome: Promise<boolean>, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.min(ms, LONGEST_TIMER_MS));
    timer.unref();
    outcome.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(false);
      },
    );
  });
}

/** The longest a send we stopped waiting for is left to finish, to learn whether it went out. */
export const LATE_GRACE_MS = 30_000;

/**
 * How long a send that timed out after `timeoutMs` is left to finish: as long again, up to
 * LATE_GRACE_MS. A provider slower than twice its timeout counts as one that failed; the
 * sockets (and memory) held by requests left to finish are at most twice what the timeout
 * alone would hold.
 */
export function lateGraceMs(timeoutMs: number): number {
  return Math.min(timeoutMs, LATE_GRACE_MS);
}
