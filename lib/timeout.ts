/** The longest delay a Node timer keeps: a longer one fires at once. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** Bounds a promise in time: a dependency that hangs must become an answer, not a stuck request. */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), Math.min(ms, LONGEST_TIMER_MS));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
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
