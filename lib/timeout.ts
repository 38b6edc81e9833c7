/** The longest delay a Node timer keeps: a longer one fires at once. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** A promise's deadline, waiting in `deadlines`; `reject` and `onTimeout` are dropped once it settles. */
interface Deadline {
  at: number;
  reject: ((err: unknown) => void) | undefined;
  onTimeout: (() => Error) | undefined;
}

/**
 * Every pending deadline of the process, in order of `at` (monotonic milliseconds) from `head`
 * on, behind one Node timer. A Node timer per bounded call (a `setTimeout` and a
 * `clearTimeout` on every send and every Redis call) cost 6 % of a start's CPU in the bench's
 * server, measured side by side; a deadline here is an array slot, and the timer is re-armed
 * about once per timeout length. Deadlines come in nearly in order (each is its call's start
 * plus a timeout), so an insertion walks back a step or two at most.
 */
const deadlines: Array<Deadline | undefined> = [];
let head = 0;
/** Deadlines whose promise has not settled: the timer holds the process open only while there are some, as a timer per call did. */
let unsettled = 0;
let timer: NodeJS.Timeout | undefined;
let timerAt = Number.POSITIVE_INFINITY;

/**
 * Bounds a promise in time: a dependency that hangs must become an answer, not a stuck request.
 * A late settlement of `promise` is still handled, so it is never unhandled.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const deadline: Deadline = { at: performance.now() + Math.min(ms, LONGEST_TIMER_MS), reject, onTimeout };
    enqueue(deadline);
    promise.then(
      (value) => {
        settle(deadline);
        resolve(value);
      },
      (err: unknown) => {
        settle(deadline);
        reject(err);
      },
    );
  });
}

function enqueue(deadline: Deadline): void {
  let i = deadlines.length;
  deadlines.push(deadline);
  for (; i > head && (deadlines[i - 1] as Deadline).at > deadline.at; i--) deadlines[i] = deadlines[i - 1];
  deadlines[i] = deadline;
  unsettled += 1;
  if (unsettled === 1) timer?.ref();
  if (deadline.at < timerAt) arm(deadline.at);
}

function settle(deadline: Deadline): void {
  if (deadline.reject === undefined) return;
  deadline.reject = undefined;
  deadline.onTimeout = undefined;
  unsettled -= 1;
  if (unsettled === 0) timer?.unref();
  dropSettled();
}

/** Forgets the settled deadlines at the front; the array is emptied when none is left. */
function dropSettled(): void {
  while (head < deadlines.length && (deadlines[head] as Deadline).reject === undefined) deadlines[head++] = undefined;
  if (head === deadlines.length) {
    deadlines.length = 0;
    head = 0;
  } else if (head > 1024 && head * 2 > deadlines.length) {
    deadlines.splice(0, head);
    head = 0;
  }
}

function arm(at: number): void {
  if (timer) clearTimeout(timer);
  timerAt = at;
  timer = setTimeout(expire, Math.max(1, Math.ceil(at - performance.now())));
  if (unsettled === 0) timer.unref();
}

/** Rejects every deadline that has passed, then waits for the next one still pending. */
function expire(): void {
  timer = undefined;
  timerAt = Number.POSITIVE_INFINITY;
  const now = performance.now();
  while (head < deadlines.length) {
    const deadline = deadlines[head] as Deadline;
    if (deadline.reject !== undefined && deadline.at > now) break;
    deadlines[head++] = undefined;
    const { reject, onTimeout } = deadline;
    if (reject === undefined || onTimeout === undefined) continue;
    settle(deadline);
    try {
      reject(onTimeout());
    } catch (err) {
      reject(err);
    }
  }
  dropSettled();
  const next = deadlines[head];
  if (next) arm(next.at);
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
