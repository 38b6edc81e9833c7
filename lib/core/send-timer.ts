/**
 * How long `disableSignup`'s unknown numbers wait before their start is answered: as long as a
 * real send takes, so that timing a start does not tell a registered number from an unknown
 * one. The wait is drawn from the durations of recent real sends (not their mean), so its
 * spread is the provider's too; before the first real send it is a typical provider latency.
 */
import { randomInt } from 'node:crypto';

/** How many recent real send durations the wait is drawn from. */
const RECENT_SENDS = 32;
/** The wait before any real send was timed: a typical provider latency, so a fresh process does not answer unknown numbers at once. */
const FIRST_GUESS_MS = 300;
/**
 * The longest recorded duration a wait imitates (before its jitter): as long as the longest
 * `timeoutMs` a sender may have. A lower cap told numbers apart whenever the provider was slower
 * (a failover, a gateway near its timeout): registered numbers waited for it, unknown ones
 * were all answered at the cap.
 */
const MAX_IMITATED_SEND_MS = 120_000;

export interface SendTimer {
  /** A real send took `ms`. */
  record(ms: number): void;
  /** The wait for the next decoy, in ms. */
  delayMs(): number;
  /** Waits `delayMs()`. */
  wait(): Promise<void>;
}

export function sendTimer(): SendTimer {
  const recent: number[] = [];
  let next = 0;
  function delayMs(): number {
    const base = Math.min(MAX_IMITATED_SEND_MS, recent.length === 0 ? FIRST_GUESS_MS : (recent[randomInt(recent.length)] as number));
    // Jitter of ±10 % from the CSPRNG, so that no two waits repeat a recorded duration exactly.
    return (base * (900 + randomInt(201))) / 1000;
  }
  return {
    record(ms: number): void {
      if (!Number.isFinite(ms) || ms < 0) return;
      recent[next] = ms;
      next = (next + 1) % RECENT_SENDS;
    },
    delayMs,
    wait(): Promise<void> {
      const ms = delayMs();
      return ms > 1 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
    },
  };
}
