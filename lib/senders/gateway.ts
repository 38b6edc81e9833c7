/**
 * Sends through a custom SMS gateway with the protocol of Auth0's `sms_gateway` provider: a
 * JSON POST of `{ recipient, body, sender?, req? }`, optionally with a short-lived HS256 JWT
 * as Bearer token. A gateway written for Auth0 keeps working unchanged. A send is never
 * retried: a request that timed out may still have reached the gateway.
 */
import { loadJose } from '../tokens/jose';
import { PasswordlessError, fail, outcomeUnknown, sendTimedOut, withProviderCode } from '../errors';
import { fixedTimeout, lateGraceMs } from '../timeout';
import { checkObject, keysOf, optionError, shownValue } from '../config/validate';
import type { SmsMessage, SmsSender } from '../types';
import { selfTimed } from './deadline';

/** Auth0's `gateway_authentication`, in this package's spelling. */
export interface GatewayAuthenticationOptions {
  /** Only `'bearer'` (a JWT in the `Authorization` header), as in Auth0. */
  method: 'bearer';
  /** The JWT's `sub` claim, for example `'urn:Auth0'`. */
  subject?: string;
  /** The JWT's `aud` claim: the gateway checks it is meant for it, for example `'urn:MySmsGateway'`. */
  audience: string;
  /** The HS256 key. */
  secret: string;
  /** The secret is base64 (or base64url) of the key bytes, as Auth0's `secret_base64_encoded`. */
  secretBase64Encoded?: boolean;
}

export interface GatewaySenderOptions {
  /** The gateway's absolute http(s) URL. */
  url: string;
  /** Sent as `sender` (Auth0's `from`): a number or sender ID the gateway uses. */
  from?: string;
  /** Adds `req: { ip, "user-agent" }` of the end user's request (Auth0's `forward_req_info`). */
  forwardRequestInfo?: boolean;
  authentication?: GatewayAuthenticationOptions;
  /** How long to wait for the gateway, in ms, 100..120000. Default 10 000. */
  timeoutMs?: number;
}

const KNOWN = keysOf<GatewaySenderOptions>()(['url', 'from', 'forwardRequestInfo', 'authentication', 'timeoutMs']);
const AUTH_KNOWN = keysOf<GatewayAuthenticationOptions>()(['method', 'subject', 'audience', 'secret', 'secretBase64Encoded']);
/** Long enough for a gateway to answer, short enough that a replayed token is soon useless. */
const TOKEN_LIFETIME_SECONDS = 60;
/** A message id longer than this is not an id; it is not kept. */
const MAX_ID_LENGTH = 256;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function checkUrl(url: unknown): void {
  let parsed: URL | undefined;
  try {
    parsed = typeof url === 'string' ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw optionError('gatewaySender.url', 'must be the absolute http(s) URL of your SMS gateway, such as "https://sms.example.com/send".');
  }
}

function nonEmptyString(path: string, value: unknown, hint: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw optionError(path, `must be a non-empty string${hint}.`);
  return value;
}

/** The key bytes of `secret`. Base64 and base64url are both accepted, as secrets are pasted from either. */
function gatewayKey(secret: string, base64Encoded: boolean): Uint8Array {
  if (!base64Encoded) return new TextEncoder().encode(secret);
  const trimmed = secret.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) {
    // The secret itself is never quoted: error messages reach logs.
    throw optionError(
      'gatewaySender.authentication.secret',
      'is not base64 or base64url although `secretBase64Encoded` is true. Give the encoded key, or set `secretBase64Encoded: false`.',
    );
  }
  return new Uint8Array(Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
}

interface ResolvedAuthentication {
  subject: string | undefined;
  audience: string;
  key: Uint8Array;
}

function resolveAuthentication(auth: unknown): ResolvedAuthentication | undefined {
  if (auth === undefined) return undefined;
  const path = 'gatewaySender.authentication';
  checkObject<GatewayAuthenticationOptions>(
    auth,
    path,
    AUTH_KNOWN,
    "{ method: 'bearer', audience: 'urn:MySmsGateway', secret: '…' }",
    false,
  );
  if (!isObject(auth)) return undefined;
  if (auth.method !== 'bearer')
    throw optionError(`${path}.method`, `must be 'bearer', the only method of Auth0's SMS gateway (got ${JSON.stringify(auth.method)}).`);
  const audience = nonEmptyString(`${path}.audience`, auth.audience, ", the JWT's `aud` your gateway checks, such as 'urn:MySmsGateway'");
  const subject =
    auth.subject === undefined
      ? undefined
      : nonEmptyString(`${path}.subject`, auth.subject, ", the JWT's `sub`, such as 'urn:Auth0', or left out");
  const secret = nonEmptyString(`${path}.secret`, auth.secret, ' shared with your gateway');
  if (auth.secretBase64Encoded !== undefined && typeof auth.secretBase64Encoded !== 'boolean') {
    throw optionError(`${path}.secretBase64Encoded`, 'must be true or false.');
  }
  const key = gatewayKey(secret, auth.secretBase64Encoded === true);
  if (key.length === 0) throw optionError(`${path}.secret`, 'decodes to no bytes. Give the base64 of the key.');
  return { subject, audience, key };
}

interface ResolvedGateway {
  url: string;
  from: string | undefined;
  forwardRequestInfo: boolean;
  authentication: ResolvedAuthentication | undefined;
  timeoutMs: number;
}

function resolve(options: GatewaySenderOptions): ResolvedGateway {
  checkObject<GatewaySenderOptions>(options, 'gatewaySender(options)', KNOWN, "{ url: 'https://sms.example.com/send' }", false);
  checkUrl(options.url);
  if (options.from !== undefined && (typeof options.from !== 'string' || options.from.trim() === '' || options.from.length > 128)) {
    throw optionError('gatewaySender.from', 'must be a non-empty string of at most 128 characters (a number or sender ID), or left out.');
  }
  if (options.forwardRequestInfo !== undefined && typeof options.forwardRequestInfo !== 'boolean') {
    throw optionError('gatewaySender.forwardRequestInfo', 'must be true or false.');
  }
  const timeout = options.timeoutMs;
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 100 || timeout > 120_000)) {
    throw optionError(
      'gatewaySender.timeoutMs',
      `must be an integer number of milliseconds from 100 to 120000 (got ${shownValue(timeout)}).`,
    );
  }
  return {
    url: options.url,
    from: options.from,
    forwardRequestInfo: options.forwardRequestInfo === true,
    authentication: resolveAuthentication(options.authentication),
    timeoutMs: timeout ?? 10_000,
  };
}

/** The JSON Auth0 posts to a gateway. */
function payload(gateway: ResolvedGateway, message: SmsMessage): Record<string, unknown> {
  const body: Record<string, unknown> = { recipient: message.to, body: message.body };
  if (gateway.from !== undefined) body.sender = gateway.from;
  if (gateway.forwardRequestInfo) body.req = { ip: message.request.ip, 'user-agent': message.request.userAgent };
  return body;
}

async function bearerToken(auth: ResolvedAuthentication): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const jwt = new (loadJose().SignJWT)({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setAudience(auth.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + TOKEN_LIFETIME_SECONDS);
  if (auth.subject !== undefined) jwt.setSubject(auth.subject);
  return jwt.sign(auth.key);
}

/** Auth0's texts for a gateway's non-2xx answer; the status to the client stays 502 (the gateway's fault, not the user's). */
function answerError(status: number): PasswordlessError {
  return withProviderCode(status === 401 ? fail('gatewayAuthFailed', {}) : fail('gatewayUnexpected', { status }), `HTTP ${status}`);
}

/** Only a system error code (ECONNREFUSED, ENOTFOUND…) is quoted: undici's own texts can carry the URL. */
function networkError(err: unknown): PasswordlessError {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === 'string' && /^[A-Z0-9_]{1,40}$/.test(cause.code) ? ` (${cause.code})` : '';
  const said = code === '' ? 'network' : (cause?.code as string);
  // A connection reset after the request went out may come after the gateway took it.
  if (cause?.code === 'ECONNRESET' || cause?.code === 'UND_ERR_SOCKET')
    return withProviderCode(outcomeUnknown(fail('providerNoAnswer', {})), said);
  return withProviderCode(fail('providerUnreachable', { reason: code }), said);
}

/** The gateway's message id from a JSON answer's `id` or `sid`, if it has one. */
function messageId(text: string): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(json)) return undefined;
  const id = json.id ?? json.sid;
  if ((typeof id === 'string' && id !== '') || typeof id === 'number') {
    const value = String(id);
    return value.length <= MAX_ID_LENGTH ? value : undefined;
  }
  return undefined;
}

export function gatewaySender(options: GatewaySenderOptions): SmsSender {
  const gateway = resolve(options);
  const bounded = fixedTimeout(gateway.timeoutMs);

  return selfTimed({
    name: 'sms_gateway',
    async send(message: SmsMessage) {
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
      if (gateway.authentication) headers.authorization = `Bearer ${await bearerToken(gateway.authentication)}`;
      const controller = new AbortController();
      // The request, read to its end. Past `timeoutMs` the send is answered as of unknown
      // outcome and the request is left to finish for a grace (as long again, at most 30 s),
      // so that its late answer tells whether the SMS went out; then it is aborted.
      const attempt = (async () => {
        const res = await fetch(gateway.url, {
          method: 'POST',
          headers,
          body: JSON.stringify(payload(gateway, message)),
          signal: controller.signal,
          // A redirect would re-post the code to wherever it points; it is an unexpected answer instead.
          redirect: 'manual',
        });
        // Read within the same time: a gateway that sends headers and then stalls is still stuck.
        return { status: res.status, text: await res.text() };
      })();
      const leftToFinish = () => {
        const abort = setTimeout(() => controller.abort(), lateGraceMs(gateway.timeoutMs));
        abort.unref();
        const late = attempt.then(
          (r) => r.status >= 200 && r.status <= 299,
          () => false,
        );
        void late.finally(() => clearTimeout(abort));
        return sendTimedOut('SMS gateway', gateway.timeoutMs, late);
      };
      let answer: { status: number; text: string };
      try {
        answer = await bounded(attempt, leftToFinish);
      } catch (err) {
        // The timeout's own answer as it is; anything else is the network's.
        throw err instanceof PasswordlessError ? err : networkError(err);
      }
      if (answer.status < 200 || answer.status > 299) throw answerError(answer.status);
      const id = messageId(answer.text);
      return id === undefined ? {} : { id };
    },
  });
}
