/**
 * A sender's error on its way to the client, checked for the code it was sending. A provider's
 * error can quote the message it refused, and the message holds the code: such an error is
 * answered with the generic text instead. A false alarm only costs the provider's wording.
 */
import { PasswordlessError, fail, isCatalogued } from '../errors';

const DECIMAL_DIGIT = /\p{Nd}/u;

/** A decimal digit of any script as its ASCII digit: Unicode lays each script's out as a run from 0 to 9. */
function asciiDigit(digit: string): string {
  const cp = digit.codePointAt(0) as number;
  let zero = cp;
  while (cp - zero < 40 && DECIMAL_DIGIT.test(String.fromCodePoint(zero - 1))) zero -= 1;
  return String((cp - zero) % 10);
}

function fromCodePoint(cp: number): string {
  return cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
}

/** A numeric character reference (`&#50;`, `&#x32;`) as its character. */
function decodeEntity(_match: string, n: string): string {
  return fromCodePoint(n[0] === 'x' || n[0] === 'X' ? Number.parseInt(n.slice(1), 16) : Number.parseInt(n, 10));
}

/** The text's digits, of any script and however written between other characters, in a row. */
function digitsOf(text: string): string {
  return text
    .replace(/&#(x[0-9a-f]{1,6}|\d{1,7});/gi, decodeEntity)
    .normalize('NFKC')
    .replace(/(?![0-9])\p{Nd}/gu, asciiDigit)
    .replace(/\D/g, '');
}

/** Whether `text` holds the code's digits in a row, spaced out, as entities or in another script's digits. */
export function quotesCode(text: string, code: string): boolean {
  return digitsOf(text).includes(code);
}

/**
 * The ways a text written by someone else's code may carry a message: as written, with JSON
 * (`\u0031`) and URL (`%31`) escapes read, and each base64 or hex run decoded.
 */
function readings(text: string): string[] {
  const unescaped = text
    .replace(/\\u([0-9a-f]{4})/gi, (_m, h: string) => fromCodePoint(Number.parseInt(h, 16)))
    .replace(/%([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
  const decoded = [...text.matchAll(/[A-Za-z0-9+/_-]{8,}={0,2}/g)].flatMap(([run]) => [
    Buffer.from(run, 'base64').toString('latin1'),
    ...(/^(?:[0-9a-f]{2})+$/i.test(run) ? [Buffer.from(run, 'hex').toString('latin1')] : []),
  ]);
  return [text, unescaped, ...decoded];
}

/**
 * Whether `text` may quote any part of the code: three of its digits in a row (or the whole of
 * a shorter code), in any of the text's readings. For messages the package did not write.
 */
export function mayQuoteCode(text: string, code: string): boolean {
  const span = Math.min(3, code.length);
  const parts = Array.from({ length: code.length - span + 1 }, (_, i) => code.slice(i, i + span));
  return readings(text).some((reading) => {
    const digits = digitsOf(reading);
    return parts.some((part) => digits.includes(part));
  });
}

/**
 * A sender's error as the client's answer: the catalogue's own texts unless they quote the
 * whole code (they quote a provider's reason, which names the number, not the message); any
 * other text unless it may quote part of it, however encoded; anything that is no
 * `PasswordlessError` as the generic failure.
 */
export function sendFailure(err: unknown, code: string): PasswordlessError {
  if (!(err instanceof PasswordlessError) || err.status < 400 || err.status >= 600) return fail('providerFailed');
  const leaks = isCatalogued(err) ? quotesCode(err.message, code) : mayQuoteCode(err.message, code);
  return leaks ? new PasswordlessError(err.code, err.status, fail('providerFailed').message) : err;
}
