/**
 * Whether a client secret is beyond guessing: what decides if its right guess may pass a full
 * count of failed client authentications (the login core), so that a neighbour's wrong guesses
 * cannot lock a backend out while guessing a typed secret stays bounded by the limit.
 */

/** The shapes of generated secrets: hex, a UUID, base64 or base64url (padding allowed). */
const GENERATED_SHAPES = [/^[0-9a-f]{32,}$/, /^[0-9A-F]{32,}$/, /^[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i];
const BASE64_SHAPE = /^(?:[A-Za-z0-9+/]{32,}={0,2}|[A-Za-z0-9_-]{32,})$/;

/**
 * Whether a client secret has the shape of a generated one, beyond guessing at any request
 * rate, so that its right guess need not hide behind the limit: 32 or more hex characters, a
 * UUID, or 32 or more base64/base64url characters that mix upper case, lower case and digits and
 * change between them often (random text does, about two changes in three characters; a phrase
 * does not); in any shape, 10 or more different characters, no part repeated and no run of
 * consecutive characters making up half of it. What `openssl rand -base64 24` (or longer),
 * `openssl rand -hex 16` and `crypto.randomUUID()` give passes; a phrase, a keyboard walk or
 * `'x'.repeat(40)` does not, and keeps the refusal that bounds guessing to the limit.
 */
export function guessproof(secret: string): boolean {
  const chars = [...secret];
  if (new Set(chars).size < 10 || patterned(chars)) return false;
  if (GENERATED_SHAPES.some((shape) => shape.test(secret))) return true;
  if (!BASE64_SHAPE.test(secret) || !/[a-z]/.test(secret) || !/[A-Z]/.test(secret) || !/[0-9]/.test(secret)) return false;
  const classOf = (c: string) => (c >= 'a' && c <= 'z' ? 0 : c >= 'A' && c <= 'Z' ? 1 : c >= '0' && c <= '9' ? 2 : 3);
  let changes = 0;
  for (let i = 1; i < chars.length; i += 1) if (classOf(chars[i] as string) !== classOf(chars[i - 1] as string)) changes += 1;
  return changes * 3 >= chars.length;
}

/**
 * Whether `chars` repeats itself (half or more of it equal to the part a period before:
 * `abcabcabd`) or counts up (half or more of its steps to the next character: `0123456789ab…`).
 * Random text of 16 or more symbols does either with a chance far below one in a million.
 */
function patterned(chars: readonly string[]): boolean {
  const n = chars.length;
  let steps = 0;
  for (let i = 1; i < n; i += 1)
    if ((chars[i] as string).codePointAt(0) === ((chars[i - 1] as string).codePointAt(0) as number) + 1) steps += 1;
  if (steps * 2 >= n - 1) return true;
  for (let period = 1; period <= n / 2; period += 1) {
    let same = 0;
    for (let i = period; i < n; i += 1) if (chars[i] === chars[i - period]) same += 1;
    if (same * 2 >= n - period) return true;
  }
  return false;
}
