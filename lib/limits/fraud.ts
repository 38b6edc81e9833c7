/**
 * The fraud guard's arithmetic, shared by the memory backend (and mirrored line for line by
 * the Redis script): per destination prefix, codes sent and codes redeemed over a sliding
 * window, estimated from the current and the previous fixed window (weighted by how much of
 * the previous one still lies inside the sliding window).
 */
import type { FraudSettings } from './types';

export interface FraudRecord {
  /** Sends and redemptions of the previous window. */
  s0: number;
  r0: number;
  /** Sends and redemptions of the current window. */
  s1: number;
  r1: number;
  /** Start of the current window. */
  w: number;
  /** Paused until (0: not paused). */
  p: number;
}

export function freshFraudRecord(now: number): FraudRecord {
  return { s0: 0, r0: 0, s1: 0, r1: 0, w: now, p: 0 };
}

/** Moves the record's windows forward to `now`. */
export function rotate(r: FraudRecord, now: number, windowMs: number): void {
  if (now < r.w + windowMs) return;
  const passed = Math.floor((now - r.w) / windowMs);
  if (passed >= 2) {
    r.s0 = 0;
    r.r0 = 0;
  } else {
    r.s0 = r.s1;
    r.r0 = r.r1;
  }
  r.s1 = 0;
  r.r1 = 0;
  r.w += passed * windowMs;
}

/** Sends and redemptions over the sliding window ending now. */
export function estimate(r: FraudRecord, now: number, windowMs: number): { sends: number; redemptions: number } {
  const weight = 1 - (now - r.w) / windowMs;
  return { sends: r.s1 + r.s0 * weight, redemptions: r.r1 + r.r0 * weight };
}

/** True when the prefix has had enough sends to judge, and too few of them were used. */
export function looksPumped(sends: number, redemptions: number, s: FraudSettings): boolean {
  return sends >= s.minSends && redemptions < s.minConversion * sends;
}
