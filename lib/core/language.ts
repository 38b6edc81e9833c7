/**
 * The message language, decided from the request's two headers without Express: the
 * negotiation is `negotiator`'s, the library behind Express's `req.acceptsLanguages`.
 *
 * The rule (Auth0's): `x-request-language`, when the request carries one, alone decides (one
 * that is not a language tag matches nothing); otherwise `accept-language` does. Either is
 * matched against `defaultLanguage` and the keys of `templates`, with fallback to shorter forms
 * (`zh-Hant-TW` -> `zh-Hant` -> `zh`, `pt-BR` -> `pt`); `*` or no match means `template`.
 */
import Negotiator from 'negotiator';

export interface LanguageHeaders {
  /** The `x-request-language` header, as received. */
  requestLanguage?: string | undefined;
  /** The `accept-language` header, as received. */
  acceptLanguage?: string | undefined;
}

/**
 * One BCP 47 tag of the shape clients send: a language, then an optional script and region
 * (`en`, `pt-BR`, `es-419`, `zh-Hant-TW`). Variants and extensions are left out: their free
 * subtags of up to 8 letters or digits would let a caller write words and numbers into an SMS.
 */
const TAG_SOURCE = '[A-Za-z]{2,3}(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|\\d{3}))?';
const TAG = new RegExp(`^${TAG_SOURCE}$`);
/** One range of an accept-language list: such a tag or `*`, and an optional q-value (RFC 9110, `q` in either case). */
const ACCEPT_RANGE = new RegExp(`^(?:${TAG_SOURCE}|\\*)(?:[ \\t]*;[ \\t]*[qQ]=(?:0(?:\\.\\d{0,3})?|1(?:\\.0{0,3})?))?$`);
/** Ranges a list may hold: browsers send a handful; a long list is a message, not a preference. */
const MAX_RANGES = 16;

export function isLanguageTag(value: string): boolean {
  return value.length <= 35 && TAG.test(value);
}

/**
 * Whether `value` is an accept-language list by its grammar, range by range: a list of words
 * in the right characters (`en. call 1800… now; q=1`) is not one, and never reaches a template.
 */
function isAcceptList(value: string): boolean {
  if (value.length > 256) return false;
  const ranges = value.split(',');
  // Empty elements (`en, , fr`) are allowed in HTTP lists.
  return ranges.length <= MAX_RANGES && ranges.every((r) => r.trim() === '' || ACCEPT_RANGE.test(r.trim()));
}

/**
 * What templates see as `request_language`: the header that decides, when it is well formed,
 * else `''` (a caller's free text never reaches a message sent under the app's sender ID).
 */
export function requestLanguage(headers: LanguageHeaders): string {
  const x = headers.requestLanguage?.trim();
  if (x) return isLanguageTag(x) ? x : '';
  const accept = headers.acceptLanguage?.trim();
  return accept && isAcceptList(accept) ? accept : '';
}

/**
 * A range and, right after it with the same weight, its shorter forms down to two subtags
 * (RFC 4647 lookup): `zh-Hant-TW` also asks for `zh-Hant`. The negotiator itself falls back
 * to the first subtag only (`zh`).
 */
function withShorterForms(range: string): string[] {
  const [tag = '', ...params] = range.split(';');
  const subtags = tag.trim().split('-');
  const forms = [range];
  for (let n = subtags.length - 1; n >= 2; n -= 1) forms.push([subtags.slice(0, n).join('-'), ...params].join(';'));
  return forms;
}

/**
 * The deciding header's ranges: `x-request-language` when the request has one (an empty header
 * is none), else `accept-language`; undefined when that header is malformed, so `template`.
 */
function decidingList(headers: LanguageHeaders): string | undefined {
  const x = headers.requestLanguage?.trim();
  if (x) return isLanguageTag(x) ? withShorterForms(x).join(',') : undefined;
  const accept = headers.acceptLanguage?.trim();
  if (!accept || !isAcceptList(accept)) return undefined;
  // `*` stays: it matches `defaultLanguage`, listed first, at its own weight, as in Express.
  return accept.split(',').flatMap(withShorterForms).join(',');
}

/**
 * The language (one of `available`) whose template renders, or `undefined` for `template`.
 * `available` lists `defaultLanguage` first, then the keys of `templates`.
 */
export function pickLanguage(headers: LanguageHeaders, available: readonly string[]): string | undefined {
  if (available.length === 0) return undefined;
  const list = decidingList(headers);
  if (!list) return undefined;
  const [best] = new Negotiator({ headers: { 'accept-language': list } }).languages([...available]);
  return best;
}
