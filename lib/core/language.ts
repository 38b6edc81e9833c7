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
/** A q-value (RFC 9110, `q` in either case). */
const Q_SOURCE = '[qQ]=(?:0(?:\\.\\d{0,3})?|1(?:\\.0{0,3})?)';
const Q = new RegExp(`^${Q_SOURCE}$`);
/** One range of an accept-language list: such a tag or `*`, and an optional q-value. */
const ACCEPT_RANGE = new RegExp(`^(?:${TAG_SOURCE}|\\*)(?:[ \\t]*;[ \\t]*${Q_SOURCE})?$`);
/** Ranges a list may hold: Chrome sends each regional language and its base, so up to twenty or so. */
const MAX_RANGES = 32;
/** Longest list read at all. */
const MAX_LIST = 512;

/**
 * A language subtag of 5 to 8 letters alone (RFC 5646 reserves the form for registered
 * languages): Auth0's own template example tests `request_language contains 'dutch'`, so
 * clients built from it send such a value. One word of letters at most: no digits, spaces or
 * punctuation, so no phone number or sentence.
 */
const LONG_LANGUAGE = /^[A-Za-z]{5,8}$/;

export function isLanguageTag(value: string): boolean {
  return value.length <= 35 && TAG.test(value);
}

/**
 * Whether `value` is an accept-language list by its grammar, range by range: a list of words
 * in the right characters (`en. call 1800… now; q=1`) is not one, and never reaches a template.
 */
function isAcceptList(value: string): boolean {
  if (value.length > MAX_LIST) return false;
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
  if (x) {
    if (x.length > 64) return '';
    const tag = hyphenated(x);
    // A tag with a variant or an extension shows as far as it has the shape (`ca-ES-valencia`
    // as `ca-ES`), so that `{% if request_language contains 'ca' %}` still finds it.
    return isLanguageTag(tag) || LONG_LANGUAGE.test(x) ? x : (reducedTag(tag) ?? '');
  }
  const accept = headers.acceptLanguage?.trim();
  return accept && isAcceptList(hyphenated(accept)) ? accept : '';
}

/**
 * A locale identifier as Android's `Locale.toString()` and iOS write it (`es_MX`, `zh_Hant_TW`)
 * read as the language tag it stands for (`es-MX`): `x-request-language` is one value an app
 * sets, often from the device's locale, and some clients build `accept-language` from it too.
 */
function hyphenated(value: string): string {
  return value.includes('_') ? value.replace(/_/g, '-') : value;
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
 * A tag cut to its longest start of the shape above: a variant or an extension goes
 * (`ca-valencia` → `ca`, `de-CH-1996` → `de-CH`, `de-u-mu-celsius` → `de`); undefined when even
 * its first subtag is not a language (`x-pig-latin`).
 */
function reducedTag(tag: string): string | undefined {
  const subtags = tag.split('-', 8);
  for (let n = Math.min(subtags.length, 3); n >= 1; n -= 1) {
    const start = subtags.slice(0, n).join('-');
    if (TAG.test(start)) return start;
  }
  return undefined;
}

/** One accept-language range for negotiation: its tag reduced and its q-value kept, or undefined to skip it. */
function negotiable(range: string): string | undefined {
  const [tag = '', ...params] = range.split(';');
  const trimmed = tag.trim();
  const reduced = trimmed === '*' ? '*' : reducedTag(trimmed);
  if (!reduced) return undefined;
  const q = params.map((p) => p.trim()).find((p) => Q.test(p));
  return q ? `${reduced};${q.toLowerCase()}` : reduced;
}

/**
 * The deciding header's ranges: `x-request-language` when the request has one (an empty header
 * is none), else `accept-language`. Each tag is read as far as it has the shape above, and a
 * range that has none of it is skipped, so that one odd range (a variant, an Android extension,
 * a private tag) does not cost the user the rest of the list; undefined when nothing is left,
 * so `template`.
 */
function decidingList(headers: LanguageHeaders): string | undefined {
  const x = headers.requestLanguage?.trim();
  if (x) {
    const tag = x.length <= 64 ? reducedTag(hyphenated(x)) : undefined;
    return tag ? withShorterForms(tag).join(',') : undefined;
  }
  const accept = headers.acceptLanguage?.trim();
  if (!accept || accept.length > MAX_LIST) return undefined;
  const list = hyphenated(accept);
  // `*` stays: it matches `defaultLanguage`, listed first, at its own weight, as in Express.
  const ranges = list
    .split(',', MAX_RANGES)
    .map(negotiable)
    .filter((r): r is string => r !== undefined);
  return ranges.length > 0 ? ranges.flatMap(withShorterForms).join(',') : undefined;
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
