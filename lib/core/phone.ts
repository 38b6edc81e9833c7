/**
 * Phone numbers: parsing and E.164 normalisation with libphonenumber-js's full ("max")
 * metadata, which is what tells a mobile number from a premium-rate one.
 */
import { LRUCache } from 'lru-cache';
import { parsePhoneNumberFromString, isSupportedCountry } from 'libphonenumber-js/max';
import type { PhoneNumberType } from '../types';
import { readE164, type PlanAnswer } from './phone-plans';

/** A parsed, valid number. `e164` is the one form used everywhere (keys, templates, answers). */
export interface Phone {
  e164: string;
  country: string | undefined;
  /** The country calling code (`1`, `33`): the most of a number that metrics may label. */
  callingCode: string;
  /** The number type, looked up only when asked for (it is most of the parse's cost). */
  type: string | undefined;
}

/** Longer input is refused before parsing; no real number, however formatted, comes close. */
const MAX_INPUT = 64;

/** Types a login SMS can never usefully reach or that cost the sender extra (SMS pumping). */
export const DEFAULT_BLOCKED_TYPES: readonly PhoneNumberType[] = ['PREMIUM_RATE', 'SHARED_COST', 'TOLL_FREE', 'VOICEMAIL'];

export const PHONE_TYPES: readonly PhoneNumberType[] = [
  'PREMIUM_RATE',
  'SHARED_COST',
  'TOLL_FREE',
  'VOICEMAIL',
  'PAGER',
  'UAN',
  'VOIP',
  'FIXED_LINE',
  'PERSONAL_NUMBER',
];

/**
 * Recent parses that libphonenumber-js answered (numbers outside the fast path, and invalid
 * input): a verify almost always follows the start of the same number, and that parse costs
 * 15-25 µs. Bounded; results are frozen. Fast-path answers are not kept: reading them again
 * costs less than the cache.
 */
const recent = new LRUCache<string, Phone | false>({ max: 10_000 });

/**
 * The fast path checks itself: its first answer and one in every CHECK_EVERY after are also
 * asked of libphonenumber-js, and a single disagreement turns it off for the process (a
 * libphonenumber-js release whose rules moved on degrades to slower, never to different).
 */
const CHECK_EVERY = 1024;
let fastAnswers = 0;
let fastPath = true;

/**
 * Parses an international number (`+` and country code required). Returns `undefined` for
 * anything that is not a string holding exactly one valid number: `extract: false` stops
 * libphonenumber from fishing a number out of surrounding text.
 */
export function parsePhone(input: unknown, withType = true): Phone | undefined {
  if (typeof input !== 'string' || input.length === 0 || input.length > MAX_INPUT) return undefined;
  const fast = readFast(input);
  if (fast && fastAnswers++ % CHECK_EVERY !== 0) return fastPhone(input, fast, withType);
  const cacheKey = `${withType ? 't' : 'n'}${input}`;
  const cached = fast ? undefined : recent.get(cacheKey);
  if (cached !== undefined) return cached || undefined;
  const phone = parseWithLibrary(input, withType || fast !== undefined);
  if (fast) {
    if (phone?.e164 === input && phone.country === fast.country && phone.callingCode === fast.callingCode && phone.type === fast.type)
      return fastPhone(input, fast, withType);
    fastPath = false;
  }
  const answer = phone && !withType && phone.type !== undefined ? Object.freeze({ ...phone, type: undefined }) : phone;
  recent.set(cacheKey, answer ?? false);
  return answer;
}

/**
 * The fast path's answer, or `undefined` (libphonenumber-js then answers) while it is off or
 * when it throws: it reads libphonenumber-js's metadata through methods its types do not
 * declare, and a release that renamed one must make every start slower, never a 500. It is then
 * off for the process.
 */
function readFast(input: string): PlanAnswer | undefined {
  if (!fastPath) return undefined;
  try {
    return readE164(input);
  } catch {
    fastPath = false;
    return undefined;
  }
}

function fastPhone(e164: string, fast: PlanAnswer, withType: boolean): Phone {
  return Object.freeze({ e164, country: fast.country, callingCode: fast.callingCode, type: withType ? fast.type : undefined });
}

/** Fast-path numbers that libphonenumber-js was also asked about (tests read it). */
export function fastPathState(): { on: boolean; answers: number } {
  return { on: fastPath, answers: fastAnswers };
}

function parseWithLibrary(input: string, withType: boolean): Phone | undefined {
  const parsed = parsePhoneNumberFromString(input.trim(), { extract: false });
  if (!parsed) return undefined;
  // With the full metadata, isValid() is getType() !== undefined: ask once, not twice. The
  // isValid() fallback covers a numbering plan without type patterns.
  const type = withType ? parsed.getType() : undefined;
  if (type === undefined && !parsed.isValid()) return undefined;
  return Object.freeze({ e164: parsed.number, country: parsed.country, callingCode: parsed.countryCallingCode, type });
}

export function isCountryCode(code: unknown): code is string {
  return typeof code === 'string' && /^[A-Z]{2}$/.test(code) && isSupportedCountry(code as never);
}

/**
 * `+14155550123` -> `+1*******23`: the country calling code and the last two digits, every
 * other digit masked, however short the number. Enough to tell numbers apart in logs, never
 * enough to dial one.
 */
export function maskPhone(e164: string): string {
  const digits = e164.replace(/^\+/, '');
  // Every logged event masks its number: the fast path reads the calling code of a valid one.
  const cc =
    (/^\d+$/.test(digits)
      ? (readFast(`+${digits}`)?.callingCode ?? parsePhoneNumberFromString(`+${digits}`)?.countryCallingCode)
      : undefined) ?? digits.slice(0, 1);
  const rest = digits.slice(cc.length);
  if (rest.length <= 2) return `+${cc}${'*'.repeat(rest.length)}`;
  return `+${cc}${'*'.repeat(rest.length - 2)}${rest.slice(-2)}`;
}
