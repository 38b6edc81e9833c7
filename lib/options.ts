/**
 * Validates the public options once, at construction, and resolves them into the internal
 * configuration the routes read. Every mistake throws here with the option's name and the
 * fix, so nothing is first discovered on a user's request.
 */
import { optionError } from './errors';
import { DEFAULT_BLOCKED_TYPES, PHONE_TYPES, isCountryCode } from './phone';
import { DEFAULT_TEMPLATE, compileTemplate, createLiquid, type RenderFn, type TemplateSyntax } from './template';
import { memoryStore } from './stores/memory';
import { resolveClientAlg, resolveTokens, type IdTokenAlg, type ResolvedTokens } from './tokens/options';
import type { Client, CodeStore, Logger, PasswordlessOptions, RateLimitOptions, SmsSender } from './types';
import type { UserHooks } from './users';

export interface ResolvedClient {
  readonly clientId: string;
  readonly name: string;
  readonly secret: string | undefined;
  readonly enabled: boolean;
  readonly idTokenAlg: IdTokenAlg;
}

export type ResolvedRateLimits = Readonly<Required<RateLimitOptions>>;

export interface Config {
  readonly secret: string;
  readonly sender: SmsSender;
  readonly clients: ReadonlyMap<string, ResolvedClient>;
  readonly connection: string;
  /** The fallback template (`template`). */
  readonly render: RenderFn;
  /** Per-language templates, in the order given. */
  readonly languages: readonly string[];
  readonly renderByLanguage: ReadonlyMap<string, RenderFn>;
  readonly store: CodeStore;
  /** True when the store was made here (so `close()` may close it). */
  readonly ownsStore: boolean;
  readonly otp: { readonly length: number; readonly ttlMs: number; readonly maxAttempts: number };
  readonly rateLimits: ResolvedRateLimits | false;
  readonly allowedCountries: ReadonlySet<string> | undefined;
  readonly blockedNumberTypes: ReadonlySet<string>;
  readonly now: () => number;
  readonly logger: Logger;
  readonly users: UserHooks | undefined;
  readonly disableSignup: boolean;
  readonly tokens: ResolvedTokens | undefined;
  /** The WebOTP domain, when the line is appended. */
  readonly webOtpDomain: string | undefined;
  readonly allowCrossSite: boolean;
}

export const DEFAULT_RATE_LIMITS: ResolvedRateLimits = Object.freeze({
  resendCooldownSeconds: 30,
  sendsPerPhonePerHour: 5,
  sendsPerPhonePerDay: 10,
  startsPerIpPerHour: 50,
  failedVerifiesPerPhonePerHour: 10,
  sendsPerClientPerDay: 0,
  sendsPerDay: 0,
  sendsPerPrefixPerHour: 0,
});

const OPTION_NAMES = [
  'secret', 'sender', 'clients', 'connection', 'template', 'templateSyntax', 'templates', 'store', 'otp',
  'rateLimits', 'allowedCountries', 'blockedNumberTypes', 'now', 'logger', 'users', 'disableSignup', 'tokens', 'webOtp', 'allowCrossSite',
] as const;
const OTP_NAMES = ['length', 'ttlSeconds', 'maxAttempts'] as const;
const CLIENT_NAMES = ['clientId', 'name', 'secret', 'enabled', 'idTokenSigningAlg'] as const;

const SILENT: Logger = Object.freeze({ info() {}, warn() {}, error() {} });

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

/** Throws for any key of `value` not in `known`, guessing the intended one. */
export function rejectUnknownKeys(value: object, known: readonly string[], path: string): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const guess = known.find((k) => distance(k, key) <= 2);
    const name = path ? `${path}.${key}` : key;
    const hint = guess ? `Did you mean \`${path ? `${path}.` : ''}${guess}\`?` : `Known options: ${known.join(', ')}.`;
    throw optionError(name, `is not an option of express-passwordless-sms. ${hint}`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function integerIn(path: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw optionError(path, `must be an integer from ${min} to ${max} (got ${JSON.stringify(value)}).`);
  }
  return value;
}

function resolveSecret(secret: unknown): string {
  if (typeof secret !== 'string' || secret.length < 32) {
    const got = typeof secret === 'string' ? `${secret.length} characters` : typeof secret;
    throw optionError('secret', `must be a string of at least 32 characters (got ${got}). Generate one with: openssl rand -base64 32`);
  }
  return secret;
}

function resolveSender(sender: unknown): SmsSender {
  if (sender === undefined) {
    throw optionError('sender', 'is required: use twilioSender({ accountSid, authToken, messagingServiceSid }) in production, or consoleSender() / outboxSender() in development and tests.');
  }
  if (!isPlainObject(sender) || typeof sender.send !== 'function') {
    throw optionError('sender', 'must be an object with a send(message) method, such as twilioSender(...), consoleSender() or outboxSender().');
  }
  return sender as unknown as SmsSender;
}

function resolveClient(client: unknown, index: number, tokens: ResolvedTokens | undefined): ResolvedClient {
  const path = `clients[${index}]`;
  if (!isPlainObject(client)) throw optionError(path, 'must be an object like { clientId: "abc", name: "My App" }.');
  rejectUnknownKeys(client, CLIENT_NAMES, path);
  const c = client as Partial<Client>;
  if (typeof c.clientId !== 'string' || c.clientId.trim() === '' || c.clientId.length > 256) {
    throw optionError(`${path}.clientId`, 'must be a non-empty string of at most 256 characters (the client_id your applications send).');
  }
  if (typeof c.name !== 'string' || c.name.trim() === '') {
    throw optionError(`${path}.name`, 'must be a non-empty string: templates show it as application.name.');
  }
  if (c.secret !== undefined && (typeof c.secret !== 'string' || c.secret === '')) {
    throw optionError(`${path}.secret`, 'must be a non-empty string, or left out for a public client.');
  }
  if (c.enabled !== undefined && typeof c.enabled !== 'boolean') {
    throw optionError(`${path}.enabled`, 'must be true or false.');
  }
  const idTokenAlg = resolveClientAlg(tokens, c.idTokenSigningAlg, c.secret, path);
  return Object.freeze({ clientId: c.clientId, name: c.name, secret: c.secret, enabled: c.enabled ?? true, idTokenAlg });
}

function resolveClients(clients: unknown, tokens: ResolvedTokens | undefined): Map<string, ResolvedClient> {
  if (!Array.isArray(clients) || clients.length === 0) {
    throw optionError('clients', 'must be a non-empty array of { clientId, name } objects: the applications allowed to log in.');
  }
  const map = new Map<string, ResolvedClient>();
  clients.forEach((client, index) => {
    const resolved = resolveClient(client, index, tokens);
    if (map.has(resolved.clientId)) {
      throw optionError(`clients[${index}].clientId`, `repeats "${resolved.clientId}": each client needs its own clientId.`);
    }
    map.set(resolved.clientId, resolved);
  });
  return map;
}

function resolveTemplates(options: PasswordlessOptions): Pick<Config, 'render' | 'languages' | 'renderByLanguage'> {
  const syntax = options.templateSyntax ?? 'liquid';
  if (syntax !== 'liquid' && syntax !== 'md_with_macros') {
    throw optionError('templateSyntax', `must be 'liquid' or 'md_with_macros' (got ${JSON.stringify(syntax)}).`);
  }
  const engine = createLiquid();
  const source = options.template ?? DEFAULT_TEMPLATE;
  if (typeof source !== 'string' || source.trim() === '') throw optionError('template', 'must be a non-empty string.');
  const render = compileTemplate(engine, source, syntax as TemplateSyntax, 'template');
  const renderByLanguage = new Map<string, RenderFn>();
  if (options.templates !== undefined) {
    if (!isPlainObject(options.templates)) throw optionError('templates', 'must be an object of language tag → template, like { fr: "Votre code : {{ code }}" }.');
    for (const [tag, text] of Object.entries(options.templates)) {
      if (!/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(tag)) {
        throw optionError(`templates.${tag}`, 'is not a language tag. Use tags like "en", "fr" or "pt-BR".');
      }
      if (typeof text !== 'string' || text.trim() === '') throw optionError(`templates.${tag}`, 'must be a non-empty string.');
      renderByLanguage.set(tag, compileTemplate(engine, text, syntax as TemplateSyntax, `templates.${tag}`, tag));
    }
  }
  return { render, languages: [...renderByLanguage.keys()], renderByLanguage };
}

function resolveStore(store: unknown): CodeStore {
  if (!isPlainObject(store) || typeof store.save !== 'function' || typeof store.verify !== 'function' || typeof store.remove !== 'function') {
    throw optionError('store', 'must be a CodeStore: memoryStore(), sessionStore() or redisStore({ client }), or an object with save, verify and remove methods.');
  }
  return store as unknown as CodeStore;
}

function resolveRateLimits(value: unknown): ResolvedRateLimits | false {
  if (value === false) return false;
  if (value === undefined) return DEFAULT_RATE_LIMITS;
  if (!isPlainObject(value)) throw optionError('rateLimits', 'must be an object of limits, or false to turn them all off (tests only).');
  const names = Object.keys(DEFAULT_RATE_LIMITS);
  rejectUnknownKeys(value, names, 'rateLimits');
  const resolved: Record<string, number> = {};
  for (const name of names) {
    resolved[name] = integerIn(`rateLimits.${name}`, value[name], 0, 1_000_000, DEFAULT_RATE_LIMITS[name as keyof ResolvedRateLimits]);
  }
  return Object.freeze(resolved as unknown as ResolvedRateLimits);
}

function resolveCountries(value: unknown): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0) throw optionError('allowedCountries', 'must be a non-empty array of ISO 3166 alpha-2 codes like ["US", "CA"], or left out to allow all.');
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
    if (!PHONE_TYPES.includes(type)) throw optionError('blockedNumberTypes', `contains ${JSON.stringify(type)}; known types: ${PHONE_TYPES.join(', ')}.`);
  }
  return new Set(value as string[]);
}

function resolveUsers(users: unknown, disableSignup: unknown): { users: UserHooks | undefined; disableSignup: boolean } {
  if (users !== undefined) {
    if (!isPlainObject(users)) throw optionError('users', 'must be an object with optional find(phone, ctx) and create(phone, ctx) functions.');
    rejectUnknownKeys(users, ['find', 'create'], 'users');
    for (const name of ['find', 'create']) {
      if (users[name] !== undefined && typeof users[name] !== 'function') throw optionError(`users.${name}`, 'must be a function (phone, ctx) returning the user (or a promise of it).');
    }
  }
  if (disableSignup === true && typeof (users as UserHooks | undefined)?.find !== 'function') {
    throw optionError('disableSignup', 'needs `users.find`: without it no number is known, so nobody could log in.');
  }
  return { users: users as UserHooks | undefined, disableSignup: resolveBoolean('disableSignup', disableSignup) };
}

function resolveBoolean(name: string, value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw optionError(name, 'must be true or false.');
  return value === true;
}

function resolveWebOtp(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) throw optionError('webOtp', 'must be an object like { domain: "example.com" }.');
  rejectUnknownKeys(value, ['domain'], 'webOtp');
  const domain = value.domain;
  if (typeof domain !== 'string' || !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(:\d{1,5})?$/.test(domain)) {
    throw optionError('webOtp.domain', `must be the site's host name in lower case, without scheme or path, like "example.com" (got ${JSON.stringify(domain)}).`);
  }
  return domain;
}

function resolveLogger(logger: unknown): Logger {
  if (logger === undefined) return SILENT;
  if (!isPlainObject(logger) && typeof logger !== 'function') throw optionError('logger', 'must be an object with info, warn and error methods (console, pino and winston fit).');
  const l = logger as Record<string, unknown>;
  for (const level of ['info', 'warn', 'error']) {
    if (typeof l[level] !== 'function') throw optionError('logger', `has no ${level}() method; it needs info, warn and error (console, pino and winston fit).`);
  }
  return logger as unknown as Logger;
}

export function resolveOptions(options: PasswordlessOptions): Config {
  if (!isPlainObject(options)) throw optionError('options', 'must be an object: passwordless({ secret, sender, clients }).');
  rejectUnknownKeys(options, OPTION_NAMES, '');
  const otp: unknown = options.otp ?? {};
  if (!isPlainObject(otp)) throw optionError('otp', 'must be an object like { length: 6, ttlSeconds: 180, maxAttempts: 3 }.');
  rejectUnknownKeys(otp, OTP_NAMES, 'otp');
  const connection = options.connection ?? 'sms';
  if (typeof connection !== 'string' || connection.trim() === '') throw optionError('connection', 'must be a non-empty string (the connection name requests carry, default "sms").');
  if (options.now !== undefined && typeof options.now !== 'function') throw optionError('now', 'must be a function returning the time in milliseconds, like Date.now.');

  const ownsStore = options.store === undefined;
  const secret = resolveSecret(options.secret);
  const tokens = resolveTokens(options.tokens, secret);
  return Object.freeze({
    secret,
    sender: resolveSender(options.sender),
    clients: resolveClients(options.clients, tokens),
    connection,
    ...resolveTemplates(options),
    store: ownsStore ? memoryStore() : resolveStore(options.store),
    ownsStore,
    otp: Object.freeze({
      length: integerIn('otp.length', otp.length, 4, 10, 6),
      ttlMs: integerIn('otp.ttlSeconds', otp.ttlSeconds, 30, 600, 180) * 1000,
      maxAttempts: integerIn('otp.maxAttempts', otp.maxAttempts, 1, 10, 3),
    }),
    rateLimits: resolveRateLimits(options.rateLimits),
    allowedCountries: resolveCountries(options.allowedCountries),
    blockedNumberTypes: resolveBlockedTypes(options.blockedNumberTypes),
    now: options.now ?? Date.now,
    logger: resolveLogger(options.logger),
    ...resolveUsers(options.users, options.disableSignup),
    tokens,
    webOtpDomain: resolveWebOtp(options.webOtp),
    allowCrossSite: resolveBoolean('allowCrossSite', options.allowCrossSite),
  });
}
