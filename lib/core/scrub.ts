/**
 * A sender's error on its way to the client, checked for the message it was sending. A
 * provider's error can quote the message it refused, and the message holds the code: such an
 * error is answered with the generic text instead. Besides the code's own digits, the checks
 * read only the message's text, not windows of the drawn code, so a provider's own wording is
 * replaced only by the rare chance that its digits hold the whole code.
 */
import { PasswordlessError, fail } from '../errors';

/** Characters in a row of the message's text that an error may not quote: enough to be a quote, more than a word. */
const QUOTE_CHARS = 12;

const DECIMAL_DIGIT = /\p{Nd}/u;

/** A decimal digit of any script as its ASCII digit: Unicode lays each script's out as a run from 0 to 9. */
function asciiDigit(digit: string): string {
  const cp = digit.codePointAt(0) as number;
  let zero = cp;
  while (cp - zero < 40 && DECIMAL_DIGIT.test(String.fromCodePoint(zero - 1))) zero -= 1;
  return String((cp - zero) % 10);
}

function fromCode(n: number): string {
  return n <= 0x10ffff ? String.fromCodePoint(n) : '';
}

/** The text with character references (`&#50;`), JSON, C and URL escapes (twice: `%2531`) read. */
function unescaped(text: string): string {
  let out = text
    .replace(/&#(x[0-9a-f]{1,6}|\d{1,7});/gi, (_m, n: string) =>
      fromCode(n[0] === 'x' || n[0] === 'X' ? Number.parseInt(n.slice(1), 16) : Number.parseInt(n, 10)),
    )
    .replace(/\\u([0-9a-f]{4})|\\x([0-9a-f]{2})/gi, (_m, u: string | undefined, x: string | undefined) =>
      fromCode(Number.parseInt(u ?? (x as string), 16)),
    );
  for (let i = 0; i < 2; i += 1) out = out.replace(/%([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
  return out;
}

/** Each base64 or hex run of the text decoded, from every offset a quoted excerpt could start at. */
function decodedRuns(text: string): string[] {
  const out: string[] = [];
  for (const [run] of text.matchAll(/[A-Za-z0-9+/_-]{4,}/g)) {
    for (let i = 0; i < 4; i += 1) out.push(Buffer.from(run.slice(i), 'base64').toString('utf8'));
    const hex = run.replace(/^0x/i, '');
    if (/^[0-9a-f]{4,}$/i.test(hex)) for (let i = 0; i < 2; i += 1) out.push(Buffer.from(hex.slice(i), 'hex').toString('utf8'));
  }
  return out;
}

/**
 * A text compared for quotes: NFKC (full-width and compatibility forms), other scripts' digits
 * as ASCII, spacing collapsed, lower case.
 */
function plain(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/(?![0-9])\p{Nd}/gu, asciiDigit)
    .replace(/[\s\u200b-\u200d\u2060\ufeff]+/g, ' ')
    .toLowerCase();
}

/** Every run of `QUOTE_CHARS` characters of `text` that is no mere spacing. */
function windows(text: string): string[] {
  return Array.from({ length: Math.max(0, text.length - QUOTE_CHARS + 1) }, (_, i) => text.slice(i, i + QUOTE_CHARS)).filter(
    (w) => w.trim().length === QUOTE_CHARS,
  );
}

/**
 * Whether `text`, read every way above, holds the code's digits in a row (however spaced out)
 * or `QUOTE_CHARS` characters in a row of the message's other text.
 */
export function quotesMessage(text: string, body: string, code: string): boolean {
  const quotes = new Set(body.split(code).map(plain).flatMap(windows));
  const first = unescaped(text);
  return [first, ...decodedRuns(first)].some((reading) => {
    const read = plain(reading);
    return read.replace(/\D/g, '').includes(code) || windows(read).some((w) => quotes.has(w));
  });
}

/**
 * A sender's error as the client's answer: its own status, code and text unless the text may
 * quote the message; anything that is no `PasswordlessError` (or not a 4xx/5xx) as the generic
 * failure.
 */
export function sendFailure(err: unknown, message: { body: string }, code: string): PasswordlessError {
  // Nothing may throw out of here (a JavaScript sender's error may have getters that throw), or
  // the failed send's code would stay pending and its limits spent.
  try {
    return scrubbed(err, message, code);
  } catch {
    return fail('providerFailed');
  }
}

/** An error's status when an answer can carry it, an integer from 400 to 599: Node cannot write NaN or 450.5. */
export function answerableStatus(status: unknown): number | undefined {
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status < 600 ? status : undefined;
}

function scrubbed(err: unknown, message: { body: string }, code: string): PasswordlessError {
  if (!(err instanceof PasswordlessError)) return fail('providerFailed');
  // Each field read once, and the answer always a fresh error built from those readings: a
  // JavaScript sender's error may have getters that answer differently on a later read.
  const status = answerableStatus(err.status);
  const errorCode: unknown = err.code;
  const text: unknown = err.message;
  const given: unknown = err.headers;
  if (status === undefined) return fail('providerFailed');
  const generic = fail('providerFailed');
  // The error's code and headers reach the answer and the log as well as its text: a custom
  // sender may have built any of them from the message.
  const safeCode =
    typeof errorCode === 'string' &&
    loggableErrorCode(errorCode, message.body) !== undefined &&
    !quotesMessage(errorCode, message.body, code)
      ? errorCode
      : generic.code;
  const safeText = typeof text !== 'string' || quotesMessage(text, message.body, code) ? generic.message : text;
  return new PasswordlessError(safeCode, status, safeText, retryAfterOnly(given, message.body));
}

/** The digits of `text`, all together: a code split by separators (`98_08_37`) is still the code. */
function digitsOf(text: string): string {
  return text.replace(/\D/g, '');
}

/** Whether `reading` holds digits of `body`'s: its digits, all together, inside the body's, or a run of 4+ of the body's inside them, or a run of 4+ overlapping one of the body's. */
function holdsDigitsOf(reading: string, body: string): boolean {
  const digits = digitsOf(reading);
  if (digits.length < 3) return false;
  return (
    digitsOf(body).includes(digits) || (body.match(/\d{4,}/g) ?? []).some((run) => digits.includes(run)) || sharesDigits(reading, body)
  );
}

/**
 * An error's `code` when it may be answered and logged: an identifier (like `sms_provider_error`)
 * none of whose digits are the message's, whichever holds the other (`e1` + the code, the code
 * split up) and also when read as base64 or hex. A JavaScript sender's code may be anything,
 * not even a string.
 */
export function loggableErrorCode(errorCode: unknown, body: string): string | undefined {
  if (typeof errorCode !== 'string' || !/^[A-Za-z][A-Za-z0-9_.-]{0,39}$/.test(errorCode)) return undefined;
  return holdsMessageDigits(errorCode, body) ? undefined : errorCode;
}

/** Whether an identifier holds digits of the message in any reading: as it is, its digits joined, as base64, as hex. */
function holdsMessageDigits(id: string, body: string): boolean {
  // Hex runs inside a word (`x3732…`) too, which the base64 reading of the whole word garbles.
  const hexRuns = [...id.matchAll(/[0-9a-f]{6,}/gi)].flatMap(([run]) =>
    [0, 1].map((i) => Buffer.from(run.slice(i), 'hex').toString('utf8')),
  );
  return [id, ...decodedRuns(id), ...hexRuns].some((reading) => holdsDigitsOf(reading, body));
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
/** The longest wait a sender's Retry-After is passed on as; a longer one is shown as this. */
const MAX_RETRY_AFTER = 3600;

/**
 * Of an error's headers, only a `Retry-After` in seconds, as a number from 1 to 3600 (a longer
 * wait as 3600): any other header, or a value of another form, could carry what the provider
 * was sent. A value of four digits that are the message's is dropped (it could be the code's).
 */
function retryAfterOnly(headers: unknown, body: string): Readonly<Record<string, string>> {
  if (!headers || typeof headers !== 'object') return NO_HEADERS;
  let value: unknown;
  try {
    const name = Object.keys(headers).find((n) => n.toLowerCase() === 'retry-after');
    value = name === undefined ? undefined : (headers as Record<string, unknown>)[name];
  } catch {
    return NO_HEADERS;
  }
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value)) return NO_HEADERS;
  const seconds = Math.min(MAX_RETRY_AFTER, Number(value));
  if (seconds < 1) return NO_HEADERS;
  const shown = String(seconds);
  return shown.length >= 4 && digitsOf(body).includes(shown) ? NO_HEADERS : Object.freeze({ 'Retry-After': shown });
}

/** The shapes a provider's word for operators may have: a Twilio error code, an HTTP status, a system error's code. */
const PROVIDER_CODE = /^(?:\d{5}|HTTP \d{3}|timeout|network|[A-Z][A-Z0-9_]{1,39})$/;

/**
 * What a provider said (`providerCodeOf`), when it may go to a log: of a known shape, and with
 * no run of digits the message also holds. A provider, or a proxy in front of one, that echoes
 * digits of the message as its "error code" would otherwise log the code.
 */
export function loggableProviderCode(said: string | undefined, body: string): string | undefined {
  return said !== undefined && PROVIDER_CODE.test(said) && !sharesDigits(said, body) ? said : undefined;
}

/** A provider's message id as it may be logged (Twilio's `SM…` SID, a gateway's id), or undefined. */
const MESSAGE_ID = /^[\w.:-]{1,64}$/;

/**
 * The message id a sender resolved with, for `code_sent` (joined with `delivery_status` by
 * it): only an id's characters, and never one that quotes digits of the message (its code) in
 * any reading an error's code is checked in (`msg-151-327`, hex, base64).
 */
export function loggableMessageId(id: unknown, body: string): string | undefined {
  return typeof id === 'string' && MESSAGE_ID.test(id) && !holdsMessageDigits(id, body) ? id : undefined;
}

/**
 * Whether a run of 4 or more digits of `said` and one of `body` overlap, either inside the
 * other: a code of 4 digits fits in a 5-digit "error code" as well as the other way round.
 */
export function sharesDigits(said: string, body: string): boolean {
  const runs = body.match(/\d{4,}/g) ?? [];
  return (said.match(/\d{4,}/g) ?? []).some((d) => runs.some((run) => run.includes(d) || d.includes(run)));
}
