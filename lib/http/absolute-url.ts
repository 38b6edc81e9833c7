/**
 * The one test for "an absolute http(s) URL", shared by `twilioSender.statusCallback` and the
 * delivery-report handler: Twilio signs its callbacks over the exact URL it was given, so the
 * two must agree on what a valid one is.
 */

/** True for `http://host/...` and `https://host/...` with a host and no whitespace. */
export function isAbsoluteHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string' || /\s/.test(value)) return false;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return false;
  }
  // `new URL('http:x')` parses (host "x"), so the scheme must also be followed by `//`.
  return (parsed.protocol === 'https:' || parsed.protocol === 'http:') && parsed.hostname !== '' && /^https?:\/\//i.test(value);
}
