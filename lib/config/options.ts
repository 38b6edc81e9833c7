/**
 * Validates the public options once, at construction, and resolves them into the internal
 * configuration the core reads. Every mistake throws here with the option's name and the
 * fix, so nothing is first discovered on a user's request.
 */
import { createKeyring, type Keyring } from '../core/crypto';
import { isLanguageTag } from '../core/language';
import { defaultLogger, SILENT } from '../core/log';
import { DEFAULT_BLOCKED_TYPES, PHONE_TYPES, isCountryCode, parsePhone } from '../core/phone';
import { guessproof } from '../core/secret-shape';
import { compileTemplate, createLiquid, type RenderFn, type TemplateSyntax } from '../core/template';
import type { UserHooks } from '../core/users';
import type { ResolvedRateLimits } from '../limits';
import { memoryLimits } from '../limits/memory';
import type { FraudSettings, LimitBackend } from '../limits/types';
import { OTP_GRANT } from '../errors';
import { createMetrics, type Metrics } from '../metrics';
import { RedisBackend } from '../redis/backend';
import { lacksErrorListener } from '../redis/client';
import { checkSenderTimeout } from '../senders/deadline';
import { isMemoryStore, memoryStore } from '../stores/memory';
import { isSessionBound } from '../stores/session';
import { resolveClientAlg, resolveTokens, type IdTokenAlg, type ResolvedTokens } from '../tokens/config';
import type { DeliveryReport } from '../http/delivery-reports';
import type { Client, CodeStore, Logger, PasswordlessOptions, SmsSender } from '../types';
import { DEFAULTS } from './defaults';
import {
  booleanOption,
  checkObject,
  functionOption,
  integerIn,
  isPlainObject,
  keysOf,
  numberIn,
  notCalledHint,
  optionError,
  refuseWeakInProduction,
  secretOption,
  stringOption,
} from './validate';

export interface ResolvedClient {
  readonly clientId: string;
  readonly name: string;
  readonly secret: string | undefined;
  readonly enabled: boolean;
  readonly idTokenAlg: IdTokenAlg | undefined;
  /** Whether `grantTypes` lets the client use the token grant. */
  readonly otpGrant: boolean;
  /**
   * Whether its secret has the shape of a generated one (`guessproof`), judged once here: its
   * right value then passes a full count of failed client authentications.
   */
  readonly guessproofSecret: boolean;
}

export interface Config {
  readonly keyring: Keyring;
  readonly sender: SmsSender;
  readonly clients: ReadonlyMap<string, ResolvedClient>;
  readonly connection: string;
  /** The fallback template (`template`, or without it `templates[defaultLanguage]`). */
  readonly render: RenderFn;
  /** The option `render` comes from, as messages and the preview name it. */
  readonly renderOption: string;
  readonly defaultLanguage: string;
  /** `defaultLanguage`, then the per-language templates' languages in the order given: what requests are negotiated against. */
  readonly languages: readonly string[];
  /** `templates`, by language (one for `defaultLanguage` filed under its spelling); a language without one renders `render`. */
  readonly renderByLanguage: ReadonlyMap<string, RenderFn>;
  readonly store: CodeStore;
  /** True when the store was made here (so `close()` may close it). */
  readonly ownsStore: boolean;
  readonly otp: { readonly length: number; readonly ttlMs: number; readonly maxAttempts: number };
  readonly rateLimits: ResolvedRateLimits | false;
  readonly limitStore: LimitBackend | undefined;
  readonly fraudGuard: FraudSettings | undefined;
  readonly testNumbers: ReadonlyMap<string, string>;
  readonly allowedCountries: ReadonlySet<string> | undefined;
  readonly blockedNumberTypes: ReadonlySet<string>;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly users: UserHooks | undefined;
  readonly disableSignup: boolean;
  readonly tokens: ResolvedTokens | undefined;
  /** The WebOTP domain, when the line is appended. */
  readonly webOtpDomain: string | undefined;
  readonly allowCrossSite: boolean;
  readonly allowedOrigins: ReadonlySet<string>;
  readonly sendInBackground: boolean;
  readonly onDeliveryStatus: ((report: DeliveryReport) => void | Promise<void>) | undefined;
  /** Construction-time warnings, logged once the logger is known. */
  readonly warnings: readonly string[];
}

const OPTIONS = keysOf<PasswordlessOptions>()([
  'secret',
  'userIdSecret',
  'sender',
  'clients',
  'connection',
  'template',
  'templateSyntax',
  'templates',
  'defaultLanguage',
  'store',
  'otp',
  'rateLimits',
  'limitStore',
  'fraudGuard',
  'testNumbers',
  'allowedCountries',
  'blockedNumberTypes',
  'now',
  'logger',
  'metrics',
  'onDeliveryStatus',
  'users',
  'disableSignup',
  'enabledClients',
  'webOtp',
  'allowCrossSite',
  'allowedOrigins',
  'sendInBackground',
  'tokens',
]);
const OTP_KEYS = keysOf<NonNullable<PasswordlessOptions['otp']>>()(['length', 'ttlSeconds', 'maxAttempts']);
const CLIENT_KEYS = keysOf<Client>()(['clientId', 'name', 'secret', 'enabled', 'idTokenSigningAlg', 'grantTypes']);
const RATE_KEYS = keysOf<ResolvedRateLimits>()([
  'resendCooldownSeconds',
  'sendsPerPhonePerHour',
  'sendsPerPhonePerDay',
  'startsPerIpPerHour',
  'failedVerifiesPerPhonePerHour',
  'failedVerifiesPerIpPerHour',
  'failedClientAuthPerIpPerHour',
  'sendsPerClientPerDay',
  'sendsPerDay',
  'sendsPerPrefixPerHour',
  'ipv6Subnet',
]);
const FRAUD_KEYS = keysOf<NonNullable<Exclude<PasswordlessOptions['fraudGuard'], false>>>()([
  'prefixDigits',
  'minSends',
  'minConversion',
  'windowSeconds',
  'blockSeconds',
  'allowPrefixes',
]);

/** Secrets signing HS256 ID tokens must resist an offline search from one token. */
const MIN_HS256_SECRET = 32;
/** Shorter client secrets are accepted (they are compared, never signed with) but warned about. */
const WARN_CLIENT_SECRET = 16;

function resolveSecrets(secret: unknown, userIdSecret: unknown, connection: string, warnings: string[]): Keyring {
  const list = Array.isArray(secret) ? secret : [secret];
  if (list.length === 0)
    throw optionError('secret', 'must be a string, or a non-empty list of strings (the first signs, all are accepted).');
  const secrets = list.map((s, i) => secretOption(Array.isArray(secret) ? `secret[${i}]` : 'secret', s, 32));
  // Mid-rotation is when the next step, removing the old secret, would change every user id.
  if (userIdSecret === undefined && secrets.length > 1)
    warnings.push(
      `\`secret\` is a list and \`userIdSecret\` is not set: user ids and limit keys come from \`secret[${secrets.length - 1}]\`, the last entry, which must be the secret they came from so far (new secrets go first). Set \`userIdSecret\` to that secret before you remove it from the list, or every user gets a new user_id; the order then no longer matters.`,
    );
  const idSecret = userIdSecret === undefined ? (secrets[secrets.length - 1] as string) : secretOption('userIdSecret', userIdSecret, 32);
  return createKeyring(secrets, idSecret, connection);
}

function resolveSender(sender: unknown): SmsSender {
  if (sender === undefined) {
    throw optionError(
      'sender',
      'is required: use twilioSender({ accountSid, authToken, messagingServiceSid }) in production, or consoleSender() / outboxSender() in development and tests.',
    );
  }
  if (!isPlainObject(sender) || typeof sender.send !== 'function') {
    throw optionError(
      'sender',
      `must be an object with a send(message) method, such as twilioSender(...), consoleSender() or outboxSender().${notCalledHint(sender)}`,
    );
  }
  checkSenderTimeout('sender', sender as unknown as SmsSender);
  return sender as unknown as SmsSender;
}

function resolveClient(
  client: unknown,
  index: number,
  tokens: ResolvedTokens | undefined,
  warnings: string[],
  clientAuthLimited: boolean,
): ResolvedClient {
  const path = `clients[${index}]`;
  const c = checkObject<Client>(client, path, CLIENT_KEYS, '{ clientId: "abc", name: "My App" }', false);
  if (typeof c.clientId !== 'string' || c.clientId.trim() === '' || c.clientId.length > 256) {
    throw optionError(`${path}.clientId`, 'must be a non-empty string of at most 256 characters (the client_id your applications send).');
  }
  const name = stringOption(`${path}.name`, c.name, undefined, 'templates show it as application.name.');
  if (name === undefined) throw optionError(`${path}.name`, 'is required: templates show it as application.name.');
  if (c.secret !== undefined && (typeof c.secret !== 'string' || c.secret === '')) {
    throw optionError(`${path}.secret`, 'must be a non-empty string, or left out for a public client.');
  }
  if (c.secret !== undefined) refuseWeakInProduction(`${path}.secret`, c.secret);
  const guessproofSecret = c.secret !== undefined && guessproof(c.secret);
  const enabled = booleanOption(`${path}.enabled`, c.enabled, true);
  const idTokenAlg = resolveClientAlg(tokens, c.idTokenSigningAlg, c.secret, path);
  if (idTokenAlg === 'HS256' && tokens && c.secret !== undefined && c.secret.length < MIN_HS256_SECRET) {
    throw optionError(
      `${path}.secret`,
      `signs this client's HS256 ID tokens and is ${c.secret.length} characters long: one token would let anyone recover it offline and forge tokens. Use ${MIN_HS256_SECRET} or more random characters (openssl rand -base64 32), or sign with RS256/ES256 keys.`,
    );
  }
  if (c.secret !== undefined && c.secret.length < WARN_CLIENT_SECRET) {
    warnings.push(
      `\`${path}.secret\` of client "${c.clientId}" is ${c.secret.length} characters long; use 32 or more random characters (openssl rand -hex 32).`,
    );
  } else if (clientAuthLimited && c.secret !== undefined && !guessproofSecret) {
    warnings.push(
      `\`${path}.secret\` of client "${c.clientId}" does not have the shape of a generated secret (32+ hex characters, a UUID, or 32+ base64 characters mixing upper case, lower case and digits): once a neighbour behind the same address (a NAT, an IPv6 /64) has sent failedClientAuthPerIpPerHour wrong secrets for this client, its right secret is refused with 429 too until the hour ends. Generated secrets are let through: regenerate it (openssl rand -hex 32).`,
    );
  }
  if (c.grantTypes !== undefined && (!Array.isArray(c.grantTypes) || !c.grantTypes.every((g) => typeof g === 'string'))) {
    throw optionError(`${path}.grantTypes`, `must be an array of grant types (Auth0's grant_types), such as ['${OTP_GRANT}'].`);
  }
  const otpGrant = c.grantTypes === undefined || c.grantTypes.includes(OTP_GRANT);
  return Object.freeze({ clientId: c.clientId, name, secret: c.secret, enabled, idTokenAlg, otpGrant, guessproofSecret });
}

/** `enabledClients` (Auth0's `enabled_clients`, as `fromAuth0Connection` returns it): undefined enables every client. */
function resolveEnabledClients(value: unknown): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((id) => typeof id === 'string' && id !== '')) {
    throw optionError('enabledClients', "must be an array of client ids (Auth0's enabled_clients), or left out to enable every client.");
  }
  return new Set(value as string[]);
}

function resolveClients(
  clients: unknown,
  enabledClients: unknown,
  tokens: ResolvedTokens | undefined,
  warnings: string[],
  /** Whether failedClientAuthPerIpPerHour counts: only then can a secret's shape matter. */
  clientAuthLimited: boolean,
): Map<string, ResolvedClient> {
  if (!Array.isArray(clients) || clients.length === 0) {
    throw optionError('clients', 'must be a non-empty array of { clientId, name } objects: the applications allowed to log in.');
  }
  const enabled = resolveEnabledClients(enabledClients);
  const map = new Map<string, ResolvedClient>();
  clients.forEach((client, index) => {
    let resolved = resolveClient(client, index, tokens, warnings, clientAuthLimited);
    if (map.has(resolved.clientId)) {
      throw optionError(`clients[${index}].clientId`, `repeats "${resolved.clientId}": each client needs its own clientId.`);
    }
    // An access token's `aud` would then name the client: it would pass for an ID token of it
    // wherever `typ` goes unchecked, and the two are signed with the same keys.
    if (tokens?.audiences.has(resolved.clientId))
      throw optionError(
        'tokens.audiences',
        `lists "${resolved.clientId}", which is a client's id: access tokens for it would carry the aud of that client's ID tokens. Name the API with its own identifier, like "https://api.example.com/".`,
      );
    // A client the connection does not enable answers "Connection is disabled", as on Auth0.
    if (enabled && resolved.enabled && !enabled.has(resolved.clientId)) resolved = Object.freeze({ ...resolved, enabled: false });
    map.set(resolved.clientId, resolved);
  });
  if (enabled && ![...map.values()].some((c) => c.enabled)) {
    throw optionError(
      'enabledClients',
      `enables none of \`clients\` (${[...map.keys()].map((id) => JSON.stringify(id)).join(', ')}), so nobody could log in: list their client ids, or keep the client ids your applications had on Auth0.`,
    );
  }
  return map;
}

type Templates = Pick<Config, 'render' | 'renderOption' | 'languages' | 'renderByLanguage' | 'defaultLanguage'>;

function resolveTemplates(options: PasswordlessOptions): Templates {
  const syntax = options.templateSyntax ?? DEFAULTS.templateSyntax;
  if (syntax !== 'liquid' && syntax !== 'md_with_macros') {
    throw optionError('templateSyntax', `must be 'liquid' or 'md_with_macros' (got ${JSON.stringify(syntax)}).`);
  }
  const defaultLanguage = options.defaultLanguage ?? DEFAULTS.defaultLanguage;
  if (typeof defaultLanguage !== 'string' || !isLanguageTag(defaultLanguage)) {
    throw optionError(
      'defaultLanguage',
      `must be the language tag of \`template\`, like "en" or "pt-BR" (got ${JSON.stringify(defaultLanguage)}).`,
    );
  }
  const engine = createLiquid();
  // `templates` only: `template` is the fallback, also next to a `templates` entry for its own language.
  const renderByLanguage = new Map<string, RenderFn>();
  const spelled = new Map<string, string>();
  if (options.templates !== undefined) {
    if (!isPlainObject(options.templates))
      throw optionError('templates', 'must be an object of language tag → template, like { fr: "Votre code : {{ code }}" }.');
    for (const [tag, text] of Object.entries(options.templates)) {
      if (!isLanguageTag(tag)) throw optionError(`templates.${tag}`, 'is not a language tag. Use tags like "en", "fr" or "pt-BR".');
      if (typeof text !== 'string' || text.trim() === '') throw optionError(`templates.${tag}`, 'must be a non-empty string.');
      // Tags are case-insensitive: `en` and `EN` are one language, and one would silently replace the other.
      const twin = spelled.get(tag.toLowerCase());
      if (twin !== undefined)
        throw optionError(`templates.${tag}`, `is the language of \`templates.${twin}\` (tags ignore case): keep one.`);
      spelled.set(tag.toLowerCase(), tag);
      // Filed under `defaultLanguage` as written when it names that language (`EN` for `en`): the negotiation answers with that spelling.
      const key = tag.toLowerCase() === defaultLanguage.toLowerCase() ? defaultLanguage : tag;
      renderByLanguage.set(key, compileTemplate(engine, text, syntax as TemplateSyntax, `templates.${tag}`, tag));
    }
  }
  // Without `template`, the app's own message in `defaultLanguage` (`templates.en`) is the
  // fallback rather than the package's default text: that is the message the app wrote.
  const own = options.template === undefined ? renderByLanguage.get(defaultLanguage) : undefined;
  // The default message in the chosen syntax: `{{ code }}` would be literal text under md_with_macros.
  const source = options.template ?? (syntax === 'md_with_macros' ? DEFAULTS.templateMacros : DEFAULTS.template);
  if (typeof source !== 'string' || source.trim() === '') throw optionError('template', 'must be a non-empty string.');
  const render = own ?? compileTemplate(engine, source, syntax as TemplateSyntax, 'template', defaultLanguage);
  if (own) renderByLanguage.delete(defaultLanguage);
  const renderOption = own ? `templates.${spelled.get(defaultLanguage.toLowerCase()) as string}` : 'template';
  const languages = [defaultLanguage, ...[...renderByLanguage.keys()].filter((tag) => tag !== defaultLanguage)];
  return { render, renderOption, defaultLanguage, languages, renderByLanguage };
}

function resolveStore(store: unknown): CodeStore {
  if (
    !isPlainObject(store) ||
    typeof store.save !== 'function' ||
    typeof store.verify !== 'function' ||
    typeof store.remove !== 'function'
  ) {
    throw optionError(
      'store',
      `must be a CodeStore: memoryStore(), sessionStore() or redisStore({ client }), or an object with save, verify and remove methods.${notCalledHint(store)}`,
    );
  }
  return store as unknown as CodeStore;
}

function resolveRateLimits(value: unknown): ResolvedRateLimits | false {
  if (value === false) return false;
  const o = checkObject<ResolvedRateLimits>(
    value,
    'rateLimits',
    RATE_KEYS,
    '{ startsPerIpPerHour: 50 }, or false to turn them all off (tests only)',
  );
  const resolved: Record<string, number> = {};
  for (const name of RATE_KEYS) {
    const [min, max] = name === 'ipv6Subnet' ? [32, 128] : [0, 1_000_000];
    resolved[name] = integerIn(`rateLimits.${name}`, o[name], min, max, DEFAULTS.rateLimits[name]);
  }
  return Object.freeze(resolved as unknown as ResolvedRateLimits);
}

/** Whether the codes live in this process: a memoryStore(), or a sessionStore() whose ledger is one. */
function keptInProcess(store: CodeStore): boolean {
  return isMemoryStore(isSessionBound(store) ? store.ledger : store);
}

/** The Redis a store lends to the limits (a redisStore, or a sessionStore with a Redis ledger). */
function lentRedis(store: CodeStore): RedisBackend | undefined {
  const redis = (store as { redis?: unknown }).redis;
  return redis instanceof RedisBackend ? redis : undefined;
}

function resolveLimitStore(
  value: unknown,
  store: CodeStore,
  rateLimits: ResolvedRateLimits | false,
  warnings: string[],
): LimitBackend | undefined {
  if (rateLimits === false) return undefined;
  if (value === undefined) return lentRedis(store) ?? memoryLimits();
  if (!isPlainObject(value) && !(value instanceof RedisBackend))
    throw optionError('limitStore', `must be memoryLimits() or redisLimits({ client }).${notCalledHint(value)}`);
  const backend = value as unknown as LimitBackend;
  if (typeof backend.take !== 'function' || (backend.kind !== 'memory' && backend.kind !== 'redis')) {
    throw optionError('limitStore', 'must be made by memoryLimits() or redisLimits({ client }).');
  }
  if (backend.kind === 'memory' && lentRedis(store)) {
    warnings.push(
      "`limitStore` is memoryLimits() while codes are kept in Redis: every instance counts its own limits, so N instances allow N times the limits. Leave `limitStore` out to count in the store's Redis, or pass redisLimits({ client }).",
    );
  }
  if (backend.kind === 'redis' && keptInProcess(store)) {
    warnings.push(
      '`limitStore` is redisLimits(), shared by every instance, while codes are kept in this process: with several instances a code started on one is unknown to the others, and its verify fails there. Pass store: redisStore({ client }) (or sessionStore({ ledger: redisStore({ client }) })).',
    );
  }
  return backend;
}

/** A node-redis client that would end the process on its first dropped connection. */
function redisListenerWarnings(store: CodeStore, limits: LimitBackend | undefined, warnings: string[]): void {
  // By client: a redisStore lends its client to the limits, and one client is one warning,
  // naming every option that holds it so that two clients give two different lines.
  const holders = new Map<unknown, string[]>();
  const lent = lentRedis(store);
  const candidates: Array<[string, RedisBackend | undefined]> = [
    ['store', lent],
    // The limits a redisStore lends itself when `limitStore` is left out are the store's.
    ['limitStore', limits instanceof RedisBackend && limits !== lent ? limits : undefined],
  ];
  for (const [option, backend] of candidates)
    if (backend && lacksErrorListener(backend.runner, backend.client))
      holders.set(backend.client, [...(holders.get(backend.client) ?? []), option]);
  for (const options of holders.values())
    warnings.push(
      `The node-redis client of ${options.map((o) => `\`${o}\``).join(' and ')} has no 'error' listener: when its connection drops, node-redis emits 'error' and Node ends the process, instead of this package answering 503 until Redis is back. Add client.on('error', (err) => console.error(err)) before connecting.`,
    );
}

function resolveFraudGuard(value: unknown, rateLimits: ResolvedRateLimits | false): FraudSettings | undefined {
  if (value === false) return undefined;
  const o = checkObject<Exclude<PasswordlessOptions['fraudGuard'], false | undefined>>(
    value,
    'fraudGuard',
    FRAUD_KEYS,
    '{ minSends: 100, minConversion: 0.1 }, or false',
  );
  const d = DEFAULTS.fraudGuard;
  const allow = o.allowPrefixes ?? [];
  if (!Array.isArray(allow) || allow.some((p) => typeof p !== 'string' || !/^\+?\d{1,15}$/.test(p))) {
    throw optionError('fraudGuard.allowPrefixes', 'must be an array of digit prefixes like ["+4479", "1415"].');
  }
  const settings = Object.freeze({
    prefixDigits: integerIn('fraudGuard.prefixDigits', o.prefixDigits, 2, 12, d.prefixDigits),
    minSends: integerIn('fraudGuard.minSends', o.minSends, 1, 1_000_000, d.minSends),
    minConversion: numberIn('fraudGuard.minConversion', o.minConversion, 0, 1, d.minConversion),
    windowMs: integerIn('fraudGuard.windowSeconds', o.windowSeconds, 60, 7 * 86_400, d.windowSeconds) * 1000,
    blockMs: integerIn('fraudGuard.blockSeconds', o.blockSeconds, 1, 7 * 86_400, d.blockSeconds) * 1000,
    // Without the +: '+4479' and '4479' are the same prefix.
    allowPrefixes: Object.freeze(allow.map((p) => p.replace(/^\+/, ''))),
  });
  // Checked even when the limits are off, so a mistake is found before they are turned on.
  return rateLimits === false ? undefined : settings;
}

function resolveTestNumbers(value: unknown, length: number, warnings: string[]): ReadonlyMap<string, string> {
  const map = new Map<string, string>();
  if (value === undefined) return map;
  if (!isPlainObject(value))
    throw optionError('testNumbers', "must be an object of number → fixed code, like { '+15005550006': '424242' }.");
  for (const [number, code] of Object.entries(value)) {
    const phone = parsePhone(number, false);
    if (!phone) throw optionError(`testNumbers.${number}`, 'is not a valid phone number in international format (like +15005550006).');
    if (typeof code !== 'string' || !new RegExp(`^\\d{${length}}$`).test(code)) {
      throw optionError(
        `testNumbers.${number}`,
        `must be a string of ${length} digits (otp.length), like "${'4242424242'.slice(0, length)}".`,
      );
    }
    map.set(phone.e164, code);
  }
  if (map.size > 0 && process.env.NODE_ENV === 'production') {
    warnings.push(
      `\`testNumbers\` lists ${map.size} number(s) with fixed codes while NODE_ENV is production: anyone who knows one logs in as it. Keep the list to the numbers your app-store reviewers need.`,
    );
  }
  return map;
}

function resolveCountries(value: unknown): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0)
    throw optionError(
      'allowedCountries',
      'must be a non-empty array of ISO 3166 alpha-2 codes like ["US", "CA"], or left out to allow all.',
    );
  for (const code of value) {
    if (!isCountryCode(code)) {
      const hint = typeof code === 'string' && isCountryCode(code.toUpperCase()) ? ` Write it in capitals: "${code.toUpperCase()}".` : '';
      throw optionError('allowedCountries', `contains ${JSON.stringify(code)}, which is not an ISO 3166 alpha-2 country code.${hint}`);
    }
  }
  return new Set(value as string[]);
}

function resolveBlockedTypes(value: unknown): ReadonlySet<string> {
  if (value === undefined) return new Set(DEFAULT_BLOCKED_TYPES);
  if (!Array.isArray(value)) throw optionError('blockedNumberTypes', `must be an array of number types, from: ${PHONE_TYPES.join(', ')}.`);
  for (const type of value) {
    if (!PHONE_TYPES.includes(type))
      throw optionError('blockedNumberTypes', `contains ${JSON.stringify(type)}; known types: ${PHONE_TYPES.join(', ')}.`);
  }
  return new Set(value as string[]);
}

function resolveUsers(users: unknown, disableSignup: unknown): { users: UserHooks | undefined; disableSignup: boolean } {
  const hooks = checkObject<UserHooks>(users, 'users', keysOf<UserHooks>()(['find', 'create']), '{ find(phone, ctx), create(phone, ctx) }');
  functionOption('users.find', hooks.find, '(phone, ctx) returning the user (or a promise of it)');
  functionOption('users.create', hooks.create, '(phone, ctx) returning the user (or a promise of it)');
  const off = booleanOption('disableSignup', disableSignup, DEFAULTS.disableSignup);
  if (off && typeof hooks.find !== 'function') {
    throw optionError('disableSignup', 'needs `users.find`: without it no number is known, so nobody could log in.');
  }
  return { users: users === undefined ? undefined : (users as UserHooks), disableSignup: off };
}

function resolveWebOtp(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const o = checkObject<{ domain: string }>(value, 'webOtp', ['domain'], '{ domain: "example.com" }');
  const domain = o.domain;
  if (
    typeof domain !== 'string' ||
    !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(:\d{1,5})?$/.test(domain)
  ) {
    throw optionError(
      'webOtp.domain',
      `must be the site's host name in lower case, without scheme or path, like "example.com" (got ${JSON.stringify(domain)}).`,
    );
  }
  return domain;
}

function resolveOrigins(value: unknown): ReadonlySet<string> {
  if (value === undefined) return new Set();
  if (!Array.isArray(value)) throw optionError('allowedOrigins', 'must be an array of origins like ["https://app.example.com"].');
  const origins = new Set<string>();
  for (const origin of value) {
    const refused = (why: string) =>
      optionError('allowedOrigins', `contains ${JSON.stringify(origin)}; ${why}, like "https://app.example.com".`);
    if (typeof origin !== 'string' || !/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/\s]+$/.test(origin))
      throw refused('an origin is scheme and host (and port), without a path');
    // Auth0's Allowed Web Origins take `https://*.example.com`; a browser never sends a `*`.
    if (origin.includes('*')) throw refused('wildcards are not supported: list each origin');
    if (/[?#@]/.test(origin)) throw refused('an origin has no query, fragment or user name');
    // A hybrid app's web view (Capacitor, Ionic, Cordova) sends its own scheme's origin,
    // `capacitor://localhost`, which the URL parser does not serialise: kept as written.
    if (!/^https?:/i.test(origin)) {
      if (/^(file|data|blob|javascript|about):/i.test(origin)) throw refused('file: and data: pages send `Origin: null`');
      origins.add(origin.toLowerCase());
      continue;
    }
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw refused('it is not a valid origin (a port is at most 65535)');
    }
    // As browsers send it: lower-case host, no default port (`https://App.example.com:443` → `https://app.example.com`).
    origins.add(url.origin);
  }
  return origins;
}

function resolveLogger(logger: unknown, now: (() => number) | undefined): Logger {
  // On the injected clock, like everything else that counts time.
  if (logger === undefined) return defaultLogger(undefined, now);
  if (logger === false) return SILENT;
  if (!isPlainObject(logger) && typeof logger !== 'function')
    throw optionError('logger', 'must be an object with info, warn and error methods (console, pino and winston fit), or false.');
  const l = logger as Record<string, unknown>;
  for (const level of ['info', 'warn', 'error']) {
    if (typeof l[level] !== 'function')
      throw optionError('logger', `has no ${level}() method; it needs info, warn and error (console, pino and winston fit).`);
  }
  return logger as unknown as Logger;
}

export function resolveOptions(options: PasswordlessOptions): Config {
  const o = checkObject<PasswordlessOptions>(options, '', OPTIONS, 'passwordless({ secret, sender, clients })', false);
  const otp = checkObject<NonNullable<PasswordlessOptions['otp']>>(
    o.otp,
    'otp',
    OTP_KEYS,
    '{ length: 6, ttlSeconds: 180, maxAttempts: 3 }',
  );
  const connection = stringOption(
    'connection',
    o.connection,
    DEFAULTS.connection,
    'the connection name requests carry, default "sms".',
  ) as string;
  if (o.now !== undefined && typeof o.now !== 'function')
    throw optionError('now', 'must be a function returning the time in milliseconds, like Date.now.');
  const warnings: string[] = [];
  const keyring = resolveSecrets(o.secret, o.userIdSecret, connection, warnings);
  const tokens = resolveTokens(o.tokens, keyring);
  const ownsStore = o.store === undefined;
  const store = ownsStore ? memoryStore() : resolveStore(o.store);
  const rateLimits = resolveRateLimits(o.rateLimits);
  if (tokens && isSessionBound(store))
    warnings.push(
      '`tokens` with sessionStore(): /oauth/token redeems a code only in the session (cookie) that started it, so native apps and servers that send no cookie always get invalid_grant. Use memoryStore() or redisStore({ client }) for them.',
    );
  if (process.env.NODE_ENV === 'production') {
    if (rateLimits === false)
      warnings.push(
        '`rateLimits: false` while NODE_ENV is production: nothing limits sends, guesses or SMS pumping. It is meant for tests.',
      );
    if ((o.sender as { name?: unknown } | undefined)?.name === 'outbox')
      warnings.push(
        '`sender` is outboxSender() while NODE_ENV is production: codes are kept in memory, never sent. Use twilioSender(...) or gatewaySender(...).',
      );
  }
  const length = integerIn('otp.length', otp.length, 4, 10, DEFAULTS.otp.length);
  functionOption('onDeliveryStatus', o.onDeliveryStatus, '(report) called with each Twilio delivery report');
  const limitStore = resolveLimitStore(o.limitStore, store, rateLimits, warnings);
  redisListenerWarnings(store, limitStore, warnings);
  return Object.freeze({
    keyring,
    sender: resolveSender(o.sender),
    clients: resolveClients(
      o.clients,
      o.enabledClients,
      tokens,
      warnings,
      rateLimits !== false && rateLimits.failedClientAuthPerIpPerHour > 0,
    ),
    connection,
    ...resolveTemplates(options),
    store,
    ownsStore,
    otp: Object.freeze({
      length,
      ttlMs: integerIn('otp.ttlSeconds', otp.ttlSeconds, 30, 600, DEFAULTS.otp.ttlSeconds) * 1000,
      maxAttempts: integerIn('otp.maxAttempts', otp.maxAttempts, 1, 10, DEFAULTS.otp.maxAttempts),
    }),
    rateLimits,
    limitStore,
    fraudGuard: resolveFraudGuard(o.fraudGuard, rateLimits),
    testNumbers: resolveTestNumbers(o.testNumbers, length, warnings),
    allowedCountries: resolveCountries(o.allowedCountries),
    blockedNumberTypes: resolveBlockedTypes(o.blockedNumberTypes),
    now: o.now ?? Date.now,
    logger: resolveLogger(o.logger, o.now),
    metrics: createMetrics(o.metrics),
    ...resolveUsers(o.users, o.disableSignup),
    tokens,
    webOtpDomain: resolveWebOtp(o.webOtp),
    allowCrossSite: booleanOption('allowCrossSite', o.allowCrossSite, DEFAULTS.allowCrossSite),
    allowedOrigins: resolveOrigins(o.allowedOrigins),
    sendInBackground: booleanOption('sendInBackground', o.sendInBackground, DEFAULTS.sendInBackground),
    onDeliveryStatus: o.onDeliveryStatus,
    warnings,
  });
}
