/**
 * Phone numbers: parsing and E.164 normalisation with libphonenumber-js's full ("max")
 * metadata, which is what tells a mobile number from a premium-rate one.
 */
import { parsePhoneNumberFromString, isSupportedCountry } from 'libphonenumber-js/max';
import type { PhoneNumberType } from './types';

/** A parsed, valid number. `e164` is the one form used everywhere (keys, templates, answers). */
export interface Phone {
  e164: string;
  country: string | undefined;
  type: string | undefined;
}

/** Longer input is refused before parsing; no real number, however formatted, comes close. */
const MAX_INPUT = 64;

/** Types a login SMS can never usefully reach or that cost the sender extra (SMS pumping). */
export const DEFAULT_BLOCKED_TYPES: readonly PhoneNumberType[] = ['PREMIUM_RATE', 'SHARED_COST', 'TOLL_FREE', 'VOICEMAIL'];

export const PHONE_TYPES: readonly PhoneNumberType[] = [
  'PREMIUM_RATE', 'SHARED_COST', 'TOLL_FREE', 'VOICEMAIL', 'PAGER', 'UAN', 'VOIP', 'FIXED_LINE', 'PERSONAL_NUMBER',
];

/**
 * Parses an international number (`+` and country code required). Returns `undefined` for
 * anything that is not a string holding exactly one valid number: `extract: false` stops
 * libphonenumber from fishing a number out of surrounding text.
 */
export function parsePhone(input: unknown): Phone | undefined {
  if (typeof input !== 'string' || input.length === 0 || input.length > MAX_INPUT) return undefined;
  const parsed = parsePhoneNumberFromString(input.trim(), { extract: false });
  if (!parsed) return undefined;
  // With the full metadata, isValid() is getType() !== undefined: ask once, not twice. The
  // isValid() fallback covers a numbering plan without type patterns.
  const type = parsed.getType();
  if (type === undefined && !parsed.isValid()) return undefined;
  return { e164: parsed.number, country: parsed.country, type };
}

export function isCountryCode(code: unknown): code is string {
  return typeof code === 'string' && /^[A-Z]{2}$/.test(code) && isSupportedCountry(code as never);
}

/** `+14155550123` → `+1415*****23`: enough to tell numbers apart in logs, not to dial one. */
export function maskPhone(e164: string): string {
  if (e164.length <= 7) return `${e164.slice(0, 2)}${'*'.repeat(Math.max(0, e164.length - 2))}`;
  return `${e164.slice(0, 5)}${'*'.repeat(e164.length - 7)}${e164.slice(-2)}`;
}
