/**
 * The one validation kit: every factory (passwordless, stores, senders, tokens, keys) checks
 * its options with these helpers, so a mistake reads the same wherever it is made: the
 * option's full name, what was wrong, and how to fix it.
 */
import { optionError } from '../errors';

export { optionError };

/** Edit distance, for "did you mean" hints on misspelt option names. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = row[j] as number;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Every key of an options type, listed once. The `satisfies` check makes the compiler
 * refuse a list that misses a key of `T` or names one `T` does not have, so the list of
 * known options can never drift from the type users write.
 */
export type KeyList<T> = readonly (keyof T & string)[];
export function keysOf<T>() {
  return <const L extends KeyList<T>>(list: L & ([keyof T] extends [L[number]] ? unknown : never)): L => list;
}

/**
 * The options object of a factory: a plain object (or absent, when `optional`) whose keys
 * are all known; an unknown key names the closest known one.
 */
export function checkObject<T>(value: unknown, path: string, known: KeyList<T>, example: string, optional = true): Partial<T> {
  if (value === undefined && optional) return {};
  if (!isPlainObject(value)) throw optionError(path || 'options', `must be an object like ${example}.`);
  for (const key of Object.keys(value)) {
    if ((known as readonly string[]).includes(key)) continue;
    const guess = known.find((k) => distance(k, key) <= 2);
    const base = path.replace(/\(options\)$/, '');
    const name = base ? `${base}.${key}` : key;
    const hint = guess ? `Did you mean \`${base ? `${base}.` : ''}${guess}\`?` : `Known options: ${known.join(', ')}.`;
    throw optionError(name, `is not an option${base ? ` of ${base}` : ''}. ${hint}`);
  }
  return value as Partial<T>;
}

/**
 * A value as a configuration error quotes it: a string in quotes (`"5000"` is not 5000), a
 * number as written (`NaN`, which JSON would print as null), anything else as JSON or its type.
 */
export function shownValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'undefined' || typeof value === 'bigint') return String(value);
  if (typeof value === 'function' || typeof value === 'symbol') return typeof value;
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}

/**
 * A hint for a factory passed where what it makes was expected (`sender: consoleSender`, a
 * class without `new`): the message then says to call or construct it. Empty for anything else,
 * a function that has the methods asked for included (its problem is being a function).
 */
export function notCalledHint(value: unknown): string {
  if (typeof value !== 'function') return '';
  let name: string;
  let isClass: boolean;
  try {
    if (typeof (value as { send?: unknown }).send === 'function') return '';
    name = typeof value.name === 'string' && /^[A-Za-z_$][\w$]{0,40}$/.test(value.name) ? value.name : '';
    isClass = /^class\b/.test(Function.prototype.toString.call(value));
  } catch {
    // A proxy that throws on being looked at: no hint rather than its error.
    return '';
  }
  if (isClass) return name ? ` It is a class: pass an instance (\`new ${name}(…)\`).` : ' It is a class: pass an instance of it.';
  return name ? ` It is a function: call it (\`${name}(…)\`, not \`${name}\`).` : ' It is a function: pass what calling it returns.';
}

export function integerIn(path: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw optionError(path, `must be an integer from ${min} to ${max} (got ${shownValue(value)}).`);
  }
  return value;
}

export function numberIn(path: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw optionError(path, `must be a number from ${min} to ${max} (got ${shownValue(value)}).`);
  }
  return value;
}

export function booleanOption(path: string, value: unknown, fallback = false): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw optionError(path, `must be true or false (got ${shownValue(value)}).`);
  return value;
}

export function stringOption(path: string, value: unknown, fallback: string | undefined, hint: string): string | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.trim() === '') throw optionError(path, `must be a non-empty string: ${hint}`);
  return value;
}

export function functionOption<F>(path: string, value: unknown, hint: string): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw optionError(path, `must be a function ${hint}.`);
  return value as F;
}

/**
 * Secrets in the style of this package's documentation (`dev-only-secret-change-me-…`):
 * lower-case words joined by hyphens, or a placeholder word. Fine on a laptop, never in
 * production; a generated secret (openssl rand -base64 32) never looks like this.
 */
const DOCUMENTED_SECRETS = /^([a-z]+|\d+)(-([a-z]+|\d+)){3,}[!.]*$|change-?me|replace-?me|your-secret|example/i;

/**
 * A secret of at least `min` characters. Under `NODE_ENV=production`, secrets copied from the
 * README or the example app are refused: they are public.
 */
export function secretOption(path: string, value: unknown, min: number): string {
  if (typeof value !== 'string' || value.length < min) {
    const got = typeof value === 'string' ? `${value.length} characters` : typeof value;
    throw optionError(path, `must be a string of at least ${min} characters (got ${got}). Generate one with: openssl rand -base64 32`);
  }
  refuseWeakInProduction(path, value);
  return value;
}

/** Fewer distinct characters than this cannot be a generated secret (`'x'.repeat(40)`, `'aaaa…'`). */
const MIN_DISTINCT_CHARACTERS = 10;

/**
 * Under `NODE_ENV=production`: a secret copied from the documentation, or one with too few
 * distinct characters to have been generated, is refused with how to make a real one.
 */
export function refuseWeakInProduction(path: string, value: string): void {
  if (process.env.NODE_ENV !== 'production') return;
  if (DOCUMENTED_SECRETS.test(value)) {
    throw optionError(
      path,
      'is a placeholder from the documentation, which everyone can read, and NODE_ENV is production. Generate a real one with: openssl rand -base64 32 (and keep it in your secret manager).',
    );
  }
  if (new Set(value).size < MIN_DISTINCT_CHARACTERS) {
    throw optionError(
      path,
      `has fewer than ${MIN_DISTINCT_CHARACTERS} distinct characters, so it was not generated, and NODE_ENV is production. Generate one with: openssl rand -base64 32`,
    );
  }
}
