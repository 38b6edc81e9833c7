/**
 * A fast path for the one form clients send: `+` and digits (E.164). libphonenumber-js's
 * parse builds a `RegExp` from its metadata on every pattern it checks and copies its options
 * on every call, which made it the largest part of a start's own cost. Here the same metadata
 * (read through libphonenumber-js's public `Metadata` class) is compiled once per calling code
 * and the same steps are taken in the same order: calling code, national number, country
 * among those sharing the code, number type, validity.
 *
 * It only ever answers "valid, with this country and type". Anything else (another input
 * form, a national prefix that libphonenumber might strip, no single country, an invalid
 * number) returns `undefined` and the caller asks libphonenumber-js itself, so the fast path
 * can only agree with it. `test/core/phone-plans.test.ts` checks that agreement on a corpus
 * of numbers for every country.
 */
import { Metadata as LibMetadata, type MetadataJson } from 'libphonenumber-js/core';

// The same object libphonenumber-js/max parses with (one copy in memory); its subpath has no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const metadataJson = require('libphonenumber-js/max/metadata') as MetadataJson;

/** The `Metadata` methods read here; libphonenumber-js's own types declare fewer of them. */
interface MetadataType {
  pattern(): string | undefined;
  possibleLengths(): number[] | undefined;
}
interface Metadata {
  selectNumberingPlan(countryOrCallingCode: string): void;
  hasCallingCode(callingCode: string): boolean;
  getCountryCodesForCallingCode(callingCode: string): string[] | undefined;
  nationalPrefixForParsing(): string | undefined;
  leadingDigits(): string | undefined;
  nationalNumberPattern(): string;
  hasTypes(): boolean;
  type(name: string): MetadataType | undefined;
}
function newMetadata(): Metadata {
  return new (LibMetadata as unknown as new (json: unknown) => Metadata)(metadataJson);
}

/** A valid number as libphonenumber-js reads it. */
export interface PlanAnswer {
  country: string;
  callingCode: string;
  type: string;
}

interface TypeRule {
  name: string;
  /** The type exists in the plan. */
  exists: boolean;
  /** Its pattern is the empty string (libphonenumber-js reads a fixed line as "fixed line or mobile" then). */
  emptyPattern: boolean;
  pattern: RegExp | undefined;
  lengths: readonly number[] | undefined;
}

interface CountryPlan {
  country: string;
  leadingDigits: RegExp | undefined;
  general: RegExp;
  hasTypes: boolean;
  fixedLine: TypeRule;
  mobile: TypeRule;
  /** Every type but FIXED_LINE, in libphonenumber-js's order of checking. */
  others: readonly TypeRule[];
}

interface CallingCodePlan {
  /** The main country's national prefix for parsing, anchored as libphonenumber-js anchors it. */
  nationalPrefix: RegExp | undefined;
  countries: readonly CountryPlan[];
}

const NON_FIXED_LINE_TYPES = [
  'MOBILE',
  'PREMIUM_RATE',
  'TOLL_FREE',
  'SHARED_COST',
  'VOIP',
  'PERSONAL_NUMBER',
  'PAGER',
  'UAN',
  'VOICEMAIL',
] as const;

/** libphonenumber-js's MIN_LENGTH_FOR_NSN and MAX_LENGTH_FOR_NSN. */
const MIN_NSN = 2;
const MAX_NSN = 17;
const E164_FORM = /^\+[1-9]\d{2,19}$/;

/** libphonenumber-js's `matchesEntirely`, compiled once. */
function entire(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

function typeRule(metadata: Metadata, name: string): TypeRule {
  const type = metadata.type(name);
  const pattern = type?.pattern();
  return {
    name,
    exists: type !== undefined,
    emptyPattern: pattern === '',
    pattern: pattern ? entire(pattern) : undefined,
    lengths: type?.possibleLengths(),
  };
}

function countryPlan(country: string): CountryPlan {
  const metadata = newMetadata();
  metadata.selectNumberingPlan(country);
  const leadingDigits = metadata.leadingDigits();
  return {
    country,
    leadingDigits: leadingDigits ? new RegExp(leadingDigits) : undefined,
    general: entire(metadata.nationalNumberPattern()),
    hasTypes: metadata.hasTypes(),
    fixedLine: typeRule(metadata, 'FIXED_LINE'),
    mobile: typeRule(metadata, 'MOBILE'),
    others: NON_FIXED_LINE_TYPES.map((name) => typeRule(metadata, name)),
  };
}

/** Plans are compiled on first use of their calling code: a process sees few of the 200-odd. */
const plans = new Map<string, CallingCodePlan | null>();

function callingCodePlan(callingCode: string): CallingCodePlan | null {
  let plan = plans.get(callingCode);
  if (plan !== undefined) return plan;
  const metadata = newMetadata();
  if (!metadata.hasCallingCode(callingCode)) {
    plan = null;
  } else {
    metadata.selectNumberingPlan(callingCode);
    const prefix = metadata.nationalPrefixForParsing();
    const countries = metadata.getCountryCodesForCallingCode(callingCode) ?? [];
    plan = {
      nationalPrefix: prefix ? new RegExp(`^(?:${prefix})`) : undefined,
      // Non-geographic codes (+800, +882…) have no country: left to libphonenumber-js.
      countries: countries.includes('001') ? [] : countries.map(countryPlan),
    };
  }
  plans.set(callingCode, plan);
  return plan;
}

/** libphonenumber-js's `isNumberTypeEqualTo`. */
function isType(nsn: string, rule: TypeRule): boolean {
  if (!rule.pattern) return false;
  if (rule.lengths && !rule.lengths.includes(nsn.length)) return false;
  return rule.pattern.test(nsn);
}

/** libphonenumber-js's `getNumberType` for one country's plan. */
function numberType(nsn: string, plan: CountryPlan): string | undefined {
  if (!plan.general.test(nsn)) return undefined;
  if (isType(nsn, plan.fixedLine)) {
    const { mobile } = plan;
    if (!mobile.exists || mobile.emptyPattern || isType(nsn, mobile)) return 'FIXED_LINE_OR_MOBILE';
    return 'FIXED_LINE';
  }
  return plan.others.find((rule) => isType(nsn, rule))?.name;
}

/** libphonenumber-js's `getCountryByNationalNumber`, for codes that several countries share. */
function countryOf(nsn: string, countries: readonly CountryPlan[]): CountryPlan | undefined {
  if (countries.length === 1) return countries[0];
  for (const plan of countries) {
    if (plan.leadingDigits) {
      if (nsn.search(plan.leadingDigits) === 0) return plan;
    } else if (numberType(nsn, plan) !== undefined) {
      return plan;
    }
  }
  return undefined;
}

/**
 * The country and type of a valid E.164 number, or `undefined` when the fast path cannot
 * tell (the caller then asks libphonenumber-js).
 */
export function readE164(input: string): PlanAnswer | undefined {
  if (!E164_FORM.test(input)) return undefined;
  for (let end = 2; end <= 4; end++) {
    const plan = callingCodePlan(input.slice(1, end));
    if (plan === null) continue;
    const nsn = input.slice(end);
    if (nsn.length < MIN_NSN || nsn.length > MAX_NSN) return undefined;
    // A national prefix inside an international number may be stripped by libphonenumber-js
    // (an empty match, as Argentina's optional prefix gives, strips nothing).
    const prefix = plan.nationalPrefix?.exec(nsn);
    if (prefix && prefix[0] !== '') return undefined;
    const country = countryOf(nsn, plan.countries);
    if (!country) return undefined;
    const type = numberType(nsn, country);
    if (type === undefined || !country.hasTypes) return undefined;
    return { country: country.country, callingCode: input.slice(1, end), type };
  }
  return undefined;
}
