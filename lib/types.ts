/**
 * The public types of the package: the options users write and the interfaces of the
 * pluggable parts (sender, store, logger). Internal, resolved configuration lives in
 * `options.ts`.
 */
import type { TokensOptions } from './tokens/config';
import type { UserHooks } from './core/users';
import type { LimitBackend } from './limits/types';
import type { MetricsOptions } from './metrics';
import type { DeliveryReport } from './http/delivery-reports';

/** Where the limits count: made by `memoryLimits()` or `redisLimits({ client })`. */
export type LimitStore = LimitBackend;

/** An application allowed to use the connection (Auth0's "Applications" tab). */
export interface Client {
  /** The `client_id` requests must carry. */
  clientId: string;
  /** What templates see as `application.name`. */
  name: string;
  /** Makes the client confidential: its requests must carry this `client_secret`. */
  secret?: string;
  /** `false` keeps the client known but refused with `bad.connection`. Default `true`. */
  enabled?: boolean;
  /** How its ID tokens are signed (`/oauth/token`): `HS256` with `secret`, or `RS256`/`ES256` with `tokens.signingKeys`. Default: the first signing key's algorithm, else HS256. */
  idTokenSigningAlg?: 'HS256' | 'RS256' | 'ES256';
  /**
   * Auth0's application `grant_types`: a list without the passwordless OTP grant
   * (`http://auth0.com/oauth/grant-type/passwordless/otp`) keeps the client off `/oauth/token`
   * (sessions only); its other values are ignored. Default: the grant is allowed.
   */
  grantTypes?: string[];
}

/** One message for a sender to deliver. `to` is always E.164. */
export interface SmsMessage {
  to: string;
  body: string;
  clientId: string;
  /** The raw language header of the request (`x-request-language`, else `accept-language`). */
  language: string;
  /**
   * Who asked for the code: the end user's address (after `trust proxy` and a trusted
   * `auth0-forwarded-for`) and user agent. Senders may forward it (Auth0's custom gateway
   * does with `forwardRequestInfo`); it never holds the code.
   */
  request: { ip: string; userAgent: string };
}

/** How messages leave. Reject with an error on failure; a `PasswordlessError` keeps its code and status. */
export interface SmsSender {
  /** The provider's name in logs and metrics (`code_sent.provider`). Default `'custom'`. */
  readonly name?: string;
  /**
   * How long the package waits for `send()` before it answers the start as a send of unknown
   * outcome (502; the code stays pending, and goes with its limits given back unless `send()`
   * resolves within as long again, up to 30 s). Default 15 000. The built-in senders keep
   * their own `timeoutMs` option instead.
   */
  readonly timeoutMs?: number;
  /** Resolves with the provider's message id and, for senders that pick among several, which one sent it. */
  send(
    message: SmsMessage,
  ): Promise<{ id?: string; provider?: string; failovers?: ReadonlyArray<{ from: string; to: string; reason: string }> }>;
  close?(): void | Promise<void>;
}

/** What a store keeps for one pending code: never the code itself, only its HMAC. */
export interface CodeRecord {
  /** Opaque random id of this code (the `_id` of the start answer). */
  id: string;
  /** base64url HMAC-SHA256 of the code, bound to phone number and client. */
  hash: string;
  /** Absolute expiry in ms on the injected clock (`now`). */
  expiresAt: number;
  /** Opaque per-login data handed back on success (the `authParams.nonce`); at most 256 characters. */
  data?: string;
}

/** What the routes hand to a store with every call. */
export interface StoreContext {
  /** The injected clock's reading for this request (ms). */
  now: number;
  /** The code lifetime in ms (for a store's own expiry of keys). */
  ttlMs: number;
  /** Wrong entries after which the code is void. */
  maxAttempts: number;
  /** When the request must be answered (ms, wall clock): a store gives up, and answers 503, past it. */
  deadline?: number;
}

/**
 * The result of one atomic check-count-consume:
 * - `ok`: the hash matched a live code, which is now consumed;
 * - `invalid`: no live code, or a wrong one (its attempt was counted);
 * - `exhausted`: the code was already void from too many wrong entries.
 */
export type VerifyOutcome = 'ok' | 'invalid' | 'exhausted';

/** What `verify` answers: the outcome and, on `ok`, the record's `data`. */
export interface VerifyResult {
  outcome: VerifyOutcome;
  data?: string;
  /**
   * With `invalid`: whether a live code was pending (a wrong code, counted against the
   * number's failure limit) or not (nothing to guess, not counted). Stores that leave it out
   * have every `invalid` counted.
   */
  pending?: boolean;
}

/**
 * Where pending codes live. `verify` must be atomic: check expiry, compare, count a wrong
 * attempt or consume, as one step, so that concurrent requests cannot both win or both see
 * a stale attempt count.
 */
export interface CodeStore {
  /** Replaces any pending code under `key`. */
  save(key: string, record: CodeRecord, ctx: StoreContext): Promise<void>;
  verify(key: string, hash: string, ctx: StoreContext): Promise<VerifyResult>;
  /**
   * Removes the pending code under `key`. With `code` (the record's id and hash), only while the
   * pending code is that one: a send that failed must not remove the code of a newer start for
   * the same number, saved while it was in flight. A store compares the id where it keeps one,
   * else the hash. A store that ignores `code` removes whatever is pending, as before.
   *
   * Resolves with what it removed when it can tell (the built-in stores do): a failed send's
   * limits stay spent when its code is removed after wrong entries, so that codes guessed at
   * while their send was in flight stay counted (anything else, or nothing: given back).
   */
  remove(key: string, ctx: StoreContext, code?: Pick<CodeRecord, 'id' | 'hash'>): Promise<void | RemovedCode>;
  close?(): void | Promise<void>;
}

/** What `CodeStore.remove` found: whether it removed the code, and the wrong entries it had. */
export interface RemovedCode {
  removed: boolean;
  attempts: number;
}

/** A structured logger (pino, winston and `console` all fit). Never receives a code. */
export interface Logger {
  info(event: Record<string, unknown>, message?: string): void;
  warn(event: Record<string, unknown>, message?: string): void;
  error(event: Record<string, unknown>, message?: string): void;
}

export interface OtpOptions {
  /** Digits in a code, 4..10. Default 6. */
  length?: number;
  /** Lifetime of a code in seconds, 30..600. Default 180. */
  ttlSeconds?: number;
  /** Wrong entries after which the code is void, 1..10. Default 3. */
  maxAttempts?: number;
}

/** Each a number; `0` turns that limit off. */
export interface RateLimitOptions {
  resendCooldownSeconds?: number;
  sendsPerPhonePerHour?: number;
  sendsPerPhonePerDay?: number;
  startsPerIpPerHour?: number;
  failedVerifiesPerPhonePerHour?: number;
  sendsPerClientPerDay?: number;
  sendsPerDay?: number;
  /** Sends per hour to one number prefix (the number without its last 4 digits). Default 0 (off). */
  sendsPerPrefixPerHour?: number;
  /** Wrong codes per hour from one address (counted only when a code was pending). Default 100. */
  failedVerifiesPerIpPerHour?: number;
  /** Failed `client_secret` checks per hour from one address (start, verify, token). Default 20. */
  failedClientAuthPerIpPerHour?: number;
  /** IPv6 addresses are counted per network of this prefix length. Default 64. */
  ipv6Subnet?: number;
}

/** The SMS pumping guard: pauses destination prefixes whose codes are sent but never used. */
export interface FraudGuardOptions {
  /** Digits after `+` that make a prefix. Default 6. */
  prefixDigits?: number;
  /** Sends to a prefix within the window before it is judged. Default 100. */
  minSends?: number;
  /** Share of sent codes that must be redeemed (0..1). Default 0.1. */
  minConversion?: number;
  /** The sliding window, in seconds. Default 3600. */
  windowSeconds?: number;
  /** How long a pause lasts, in seconds. Default 3600. */
  blockSeconds?: number;
  /** Prefixes never paused (`'+4479'` or `'4479'`). */
  allowPrefixes?: readonly string[];
}

/** libphonenumber-js number types that are refused as destinations. */
export type PhoneNumberType =
  'PREMIUM_RATE' | 'SHARED_COST' | 'TOLL_FREE' | 'VOICEMAIL' | 'PAGER' | 'UAN' | 'VOIP' | 'FIXED_LINE' | 'PERSONAL_NUMBER';

export interface PasswordlessOptions {
  /** HMAC key for codes and ids at rest; 32+ characters. A list rotates: the first signs, all are accepted for pending codes. Required. */
  secret: string | readonly string[];
  /** The key of `user_id`s, never to be rotated. Default: the last entry of `secret` (the one you started with). */
  userIdSecret?: string;
  /** How messages leave. Required. */
  sender: SmsSender;
  /** The applications that may use this connection. Required, at least one. */
  clients: readonly Client[];
  /** The connection name requests must carry. Default `'sms'`. */
  connection?: string;
  /** The message. Default `'Your verification code is: {{ code }}'`. */
  template?: string;
  /** `'liquid'` (default) or Auth0's older `'md_with_macros'`. */
  templateSyntax?: 'liquid' | 'md_with_macros';
  /** Per-language templates keyed by language tag; `template` is the fallback. */
  templates?: Readonly<Record<string, string>>;
  /** The language `template` is written in, so that a request for it picks `template`. Default `'en'`. */
  defaultLanguage?: string;
  /** Where pending codes live. Default `memoryStore()`. */
  store?: CodeStore;
  otp?: OtpOptions;
  /** Send and verify limits; `false` turns all off, the fraud guard too (tests only). */
  rateLimits?: RateLimitOptions | false;
  /** Where the limits count: `memoryLimits()` or `redisLimits({ client })`. Default: the Redis of a `redisStore`, else memory. */
  limitStore?: LimitStore;
  /** The SMS pumping guard; `false` turns it off. On by default. */
  fraudGuard?: FraudGuardOptions | false;
  /** Fixed codes for listed numbers (app-store review): no SMS is sent, the limits still apply. */
  testNumbers?: Readonly<Record<string, string>>;
  /** ISO 3166 alpha-2 codes of the countries messages may go to. Default: all. */
  allowedCountries?: readonly string[];
  /** Number types refused as destinations. Default premium rate, shared cost, toll free, voicemail. */
  blockedNumberTypes?: readonly PhoneNumberType[];
  /** The clock, in ms. Default `Date.now`. */
  now?: () => number;
  /** Structured events. Default: warnings and errors to stderr, each at most once an hour; `false`: nothing. */
  logger?: Logger | false;
  /** Counters and a latency histogram in a prom-client registry. */
  metrics?: MetricsOptions;
  /** Called with each signed Twilio delivery report (needs `twilioSender({ statusCallback })`). */
  onDeliveryStatus?: (report: DeliveryReport) => void | Promise<void>;
  /** Hooks to look up and create the user of a verified number; what they return joins the session user and the ID token. */
  users?: UserHooks;
  /** Only numbers that `users.find` returns may log in; others get no SMS and the wrong-code answer. Default false. */
  disableSignup?: boolean;
  /**
   * The client ids the connection enables (Auth0's `enabled_clients`, which `fromAuth0Connection`
   * returns): the other `clients` answer 400 `bad.connection` "Connection is disabled". Default: all.
   */
  enabledClients?: readonly string[];
  /** Appends the WebOTP line `@domain #code`, so browsers autofill the code only on that site. */
  webOtp?: { domain: string };
  /** Accept start/verify/logout from pages of other sites. Default false: refused with 403 (login CSRF). */
  allowCrossSite?: boolean;
  /** Origins (`https://app.example.com`) besides the app's own whose pages may call start/verify/logout. */
  allowedOrigins?: readonly string[];
  /**
   * Answer a start once the code is stored and send the SMS after the answer (failures are
   * logged, not answered). Makes the answer's timing independent of the provider, and of
   * whether the number is registered under `disableSignup`. Default false.
   */
  sendInBackground?: boolean;
  /** Turns on Auth0's token grant (`POST /oauth/token`), `/.well-known/jwks.json`, `/.well-known/openid-configuration` and `/userinfo`. */
  tokens?: TokensOptions;
}
