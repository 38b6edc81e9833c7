/**
 * Phone numbers: parsing and E.164 normalisation with libphonenumber-js's full ("max")
 * metadata, which is what tells a mobile number from a premium-rate one.
 */
import { LRUCache } from 'lru-cache';
import { parsePhoneNumberFromString, isSupportedCountry } from 'libphonenumber-js/max';
import type { PhoneNumberType } from '../types';

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
 * Parses an international number (`+` and country code required). Returns `undefined` for
 * anything that is not a string holding exactly one valid number: `extract: false` stops
 * libphonenumber from fishing a number out of surrounding text.
 */
/**
 * Recent parses, by input: a verify almost always follows the start of the same number, and
 * libphonenumber's parse is most of a request's own cost. Bounded; results are frozen.
 */
const recent = new LRUCache<string, Phone | false>({ max: 10_000 });

export function parsePhone(input: unknown, withType = true): Phone | undefined {
  if (typeof input !== 'string' || input.length === 0 || input.length > MAX_INPUT) return undefined;
  const cacheKey = `${withType ? 't' : 'n'}${input}`;
  const cached = recent.get(cacheKey);
  if (cached !== undefined) return cached || undefined;
  const phone = parseUncached(input, withType);
  recent.set(cacheKey, phone ?? false);
  return phone;
}

function parseUncached(input: string, withType: boolean): Phone | undefined {
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
  const parsed = /^\d+$/.test(digits) ? parsePhoneNumberFromString(`+${digits}`) : undefined;
  const cc = parsed?.countryCallingCode ?? digits.slice(0, 1);
  const rest = digits.slice(cc.length);
  if (rest.length <= 2) return `+${cc}${'*'.repeat(rest.length)}`;
  return `+${cc}${'*'.repeat(rest.length - 2)}${rest.slice(-2)}`;
}
