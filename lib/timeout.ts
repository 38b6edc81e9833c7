/** The longest delay a Node timer keeps: a longer one fires at once. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/**
 * Bounds a promise in time: a dependency that hangs must become an answer, not a stuck request.
 * One promise and one timer (not a race of two promises and a `finally`): it runs on every
 * Redis call. A late settlement of `promise` is still handled, so it is never unhandled.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), Math.min(ms, LONGEST_TIMER_MS));
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
