/**
 * Turns an Auth0 passwordless SMS connection, as the Management API returns it
 * (`GET /api/v2/connections/{id}`), into options for `passwordless()`, so a migration starts
 * from the tenant's own settings. What this package cannot do the same way is refused with a
 * message naming the field, never silently dropped.
 */
import { PasswordlessError } from '../errors';
import { checkObject, keysOf, optionError, shownValue } from '../config/validate';
import { gatewaySender, type GatewaySenderOptions } from '../senders/gateway';
import { twilioSender, type TwilioSenderOptions } from '../senders/twilio';
import type { Client, SmsSender } from '../types';

/** Auth0's `options.gateway_authentication`. */
export interface Auth0GatewayAuthentication {
  method?: string;
  subject?: string | null;
  audience?: string;
  secret?: string;
  secret_base64_encoded?: boolean;
  [key: string]: unknown;
}

/** The `options` of a connection of strategy `sms`; other fields Auth0 returns are ignored. */
export interface Auth0SmsConnectionOptions {
  /** `'twilio'` (Auth0's default when absent) or `'sms_gateway'`. */
  provider?: string;
  twilio_sid?: string | null;
  twilio_token?: string | null;
  from?: string | null;
  messaging_service_sid?: string | null;
  syntax?: string;
  template?: string;
  totp?: { time_step?: number; length?: number } | null;
  disable_signup?: boolean | 'true' | 'false';
  brute_force_protection?: boolean | 'true' | 'false';
  gateway_url?: string | null;
  gateway_authentication?: Auth0GatewayAuthentication | null;
  /** Auth0's SMS gateway guide writes it as a string: "true". */
  forward_req_info?: boolean | 'true' | 'false';
  [key: string]: unknown;
}

/** A connection object of the Management API (the `auth0` SDK's `Connection` fits). */
export interface Auth0Connection {
  name?: string;
  strategy?: string;
  /** Deprecated by Auth0 (now `GET /api/v2/connections/{id}/clients`); give it yourself if your export lacks it. */
  enabled_clients?: readonly string[];
  options?: Auth0SmsConnectionOptions;
  // Returned by the Management API, not used here; named so a pasted connection type-checks.
  id?: string;
  display_name?: string;
  realms?: readonly string[];
  is_domain_connection?: boolean;
  show_as_button?: boolean;
  metadata?: Record<string, unknown>;
}

export interface FromAuth0ConnectionExtras {
  /** Your applications; those not in `enabled_clients` come back with `enabled: false`. */
  clients?: readonly Client[];
  /** Passed through to `twilioSender` (tests point `httpClient` at an emulator). */
  twilio?: Pick<TwilioSenderOptions, 'httpClient' | 'timeoutMs'>;
}

/** What `fromAuth0Connection` returns: options for `passwordless()`, to spread next to `secret` and `clients`. */
export interface Auth0ConnectionSettings {
  connection: string;
  sender: SmsSender;
  template: string;
  templateSyntax: 'liquid' | 'md_with_macros';
  otp: { length: number; ttlSeconds: number };
  disableSignup: boolean;
  /** The client ids Auth0 had enabled; left out when the connection did not say (every client is then enabled). */
  enabledClients?: string[];
  /** `extras.clients`, with `enabled: false` for those the connection did not enable. */
  clients?: Client[];
}

/** Auth0's default message, in each syntax, for a connection saved without a template. */
const DEFAULT_TEMPLATE = {
  md_with_macros: 'Your SMS verification code is: @@password@@',
  liquid: 'Your SMS verification code is: {{ code }}',
} as const;
/** This package's own defaults, used when the connection has no `totp`. */
const DEFAULT_OTP = { length: 6, ttlSeconds: 180 };

const TWILIO_FIELDS: Record<string, string> = {
  accountSid: 'connection.options.twilio_sid',
  authToken: 'connection.options.twilio_token',
  from: 'connection.options.from',
  messagingServiceSid: 'connection.options.messaging_service_sid',
  httpClient: 'extras.twilio.httpClient',
  timeoutMs: 'extras.twilio.timeoutMs',
};
const GATEWAY_FIELDS: Record<string, string> = {
  url: 'connection.options.gateway_url',
  from: 'connection.options.from',
  forwardRequestInfo: 'connection.options.forward_req_info',
  authentication: 'connection.options.gateway_authentication',
  'authentication.method': 'connection.options.gateway_authentication.method',
  'authentication.subject': 'connection.options.gateway_authentication.subject',
  'authentication.audience': 'connection.options.gateway_authentication.audience',
  'authentication.secret': 'connection.options.gateway_authentication.secret',
  'authentication.secretBase64Encoded': 'connection.options.gateway_authentication.secret_base64_encoded',
};

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A value Auth0 stores as "not set": absent, null or an empty string. */
function unset(value: unknown): value is undefined | null | '' {
  return value === undefined || value === null || value === '';
}

/**
 * A sender's own option error, renamed to the connection's field: the user edits the Auth0
 * object, not the sender call they never wrote.
 */
function renamed(err: unknown, sender: string, fields: Record<string, string>): unknown {
  if (!(err instanceof PasswordlessError) || err.code !== 'invalid_option') return err;
  const match = new RegExp(`^express-passwordless-sms: option \`${sender}\\.([\\w.]+)\` ([\\s\\S]*)$`).exec(err.message);
  const field = match ? fields[match[1] as string] : undefined;
  return field ? optionError(field, match?.[2] as string) : err;
}

function twilioFrom(options: Auth0SmsConnectionOptions, extras: FromAuth0ConnectionExtras): SmsSender {
  if (unset(options.twilio_sid))
    throw optionError('connection.options.twilio_sid', 'is missing: copy the Account SID (AC…) from the Twilio console into it.');
  if (unset(options.twilio_token))
    throw optionError(
      'connection.options.twilio_token',
      'is missing: copy the Auth Token from the Twilio console into it (exports that hide secrets leave it out).',
    );
  const service = options.messaging_service_sid;
  if (unset(service) && unset(options.from)) {
    throw optionError(
      'connection.options.from',
      'and `connection.options.messaging_service_sid` are both empty: set the sender number or the Messaging Service SID (MG…) Auth0 used.',
    );
  }
  // As in Auth0's dashboard, a Messaging Service, once chosen, is the SMS source; `from` is then left over.
  const route = unset(service) ? { from: options.from as string } : { messagingServiceSid: service };
  try {
    return twilioSender({ accountSid: options.twilio_sid, authToken: options.twilio_token, ...route, ...extras.twilio });
  } catch (err) {
    throw renamed(err, 'twilioSender', TWILIO_FIELDS);
  }
}

function gatewayFrom(options: Auth0SmsConnectionOptions): SmsSender {
  if (unset(options.gateway_url))
    throw optionError('connection.options.gateway_url', 'is missing: an `sms_gateway` connection needs the URL of your gateway.');
  const auth = options.gateway_authentication;
  const gateway: GatewaySenderOptions = { url: options.gateway_url };
  if (!unset(options.from)) gateway.from = options.from;
  if (options.forward_req_info !== undefined)
    gateway.forwardRequestInfo = booleanOr('connection.options.forward_req_info', options.forward_req_info, false);
  if (auth !== undefined && auth !== null) {
    if (!isObject(auth))
      throw optionError(
        'connection.options.gateway_authentication',
        'must be an object like { method: "bearer", audience, secret } or null.',
      );
    gateway.authentication = {
      method: auth.method as 'bearer',
      audience: auth.audience as string,
      secret: auth.secret as string,
      ...(unset(auth.subject) ? {} : { subject: auth.subject }),
      ...(auth.secret_base64_encoded === undefined ? {} : { secretBase64Encoded: auth.secret_base64_encoded }),
    };
  }
  try {
    return gatewaySender(gateway);
  } catch (err) {
    throw renamed(err, 'gatewaySender', GATEWAY_FIELDS);
  }
}

function senderFrom(options: Auth0SmsConnectionOptions, extras: FromAuth0ConnectionExtras): SmsSender {
  const provider = options.provider;
  if (unset(provider) || provider === 'twilio') return twilioFrom(options, extras);
  if (provider === 'sms_gateway') return gatewayFrom(options);
  throw optionError(
    'connection.options.provider',
    `is ${JSON.stringify(provider)}: only "twilio" and "sms_gateway" can be carried over. For another provider, write a sender (README, "Senders") and pass it as \`sender\`.`,
  );
}

function integerIn(path: string, value: unknown, min: number, max: number, fallback: number, fix: string): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw optionError(path, `is ${JSON.stringify(value)}: it must be an integer from ${min} to ${max}. ${fix}`);
  }
  return value;
}

function otpFrom(totp: Auth0SmsConnectionOptions['totp']): Auth0ConnectionSettings['otp'] {
  if (totp === undefined || totp === null) return { ...DEFAULT_OTP };
  if (!isObject(totp)) throw optionError('connection.options.totp', 'must be an object like { time_step: 300, length: 6 }.');
  return {
    length: integerIn(
      'connection.options.totp.length',
      totp.length,
      4,
      10,
      DEFAULT_OTP.length,
      'Codes here have 4 to 10 digits: pick a length in that range.',
    ),
    ttlSeconds: integerIn(
      'connection.options.totp.time_step',
      totp.time_step,
      30,
      600,
      DEFAULT_OTP.ttlSeconds,
      'Codes here live 30 to 600 seconds: pick an expiry in that range.',
    ),
  };
}

function templateFrom(options: Auth0SmsConnectionOptions): Pick<Auth0ConnectionSettings, 'template' | 'templateSyntax'> {
  const syntax = options.syntax ?? 'md_with_macros';
  if (syntax !== 'md_with_macros' && syntax !== 'liquid') {
    throw optionError('connection.options.syntax', `is ${JSON.stringify(syntax)}: it must be "md_with_macros" or "liquid".`);
  }
  if (options.template !== undefined && (typeof options.template !== 'string' || options.template.trim() === '')) {
    throw optionError('connection.options.template', "must be a non-empty string (the SMS text), or left out for Auth0's default.");
  }
  return { template: options.template ?? DEFAULT_TEMPLATE[syntax], templateSyntax: syntax };
}

/**
 * A flag of the connection. Auth0 keeps `options` as sent, and its own SMS gateway guide sends
 * `"forward_req_info": "true"`, so the strings "true" and "false" count as the flags they name.
 */
function booleanOr(path: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (value === 'true' || value === 'false') return value === 'true';
  if (typeof value !== 'boolean') throw optionError(path, `must be true or false (got ${shownValue(value)}).`);
  return value;
}

function enabledClientsOf(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((id) => typeof id === 'string' && id !== '')) {
    throw optionError('connection.enabled_clients', 'must be an array of client ids.');
  }
  return [...value];
}

function clientsFrom(clients: unknown, enabled: string[] | undefined): Client[] {
  if (!Array.isArray(clients)) throw optionError('extras.clients', 'must be an array of { clientId, name, secret? }.');
  if (enabled === undefined) {
    // Enabling all, or none, would be a guess about who may log in.
    throw optionError(
      'connection.enabled_clients',
      'is missing, so it is unknown which of `extras.clients` may log in. Auth0 now lists them at GET /api/v2/connections/{id}/clients: set `enabled_clients` to their client ids, or leave out `extras.clients` and pass `clients` to passwordless() yourself.',
    );
  }
  return clients.map((client: unknown, i) => {
    if (!isObject(client) || typeof client.clientId !== 'string')
      throw optionError(`extras.clients[${i}]`, 'must be an object like { clientId, name, secret? }.');
    return (enabled.includes(client.clientId) ? { ...client } : { ...client, enabled: false }) as unknown as Client;
  });
}

function checkExtras(extras: unknown): asserts extras is FromAuth0ConnectionExtras {
  const checked = checkObject<FromAuth0ConnectionExtras>(
    extras,
    'extras',
    keysOf<FromAuth0ConnectionExtras>()(['clients', 'twilio']),
    '{ clients, twilio }',
    false,
  );
  const twilio = checked.twilio;
  if (twilio === undefined) return;
  if (!isObject(twilio)) throw optionError('extras.twilio', 'must be an object like { httpClient, timeoutMs }.');
  for (const key of Object.keys(twilio)) {
    if (key !== 'httpClient' && key !== 'timeoutMs')
      throw optionError(`extras.twilio.${key}`, 'is not passed through to twilioSender. Only httpClient and timeoutMs are.');
  }
}

export function fromAuth0Connection(
  given: Auth0Connection | { data: Auth0Connection },
  extras: FromAuth0ConnectionExtras = {},
): Auth0ConnectionSettings {
  // The `auth0` SDK (v4) answers `connections.get` with `{ data, headers, status }`: its `data` is the connection.
  const sdkAnswer = isObject(given as unknown) && !('strategy' in given) && 'data' in given && isObject(given.data as unknown);
  const connection = (sdkAnswer ? (given as { data: Auth0Connection }).data : given) as Auth0Connection;
  if (!isObject(connection as unknown))
    throw optionError(
      'fromAuth0Connection(connection)',
      'must be a connection object from the Auth0 Management API (GET /api/v2/connections/{id}).',
    );
  checkExtras(extras);
  if (connection.strategy !== 'sms') {
    throw optionError(
      'connection.strategy',
      `is ${JSON.stringify(connection.strategy)}: only passwordless SMS connections (strategy "sms") can be carried over.`,
    );
  }
  const options: Auth0SmsConnectionOptions = connection.options ?? {};
  if (!isObject(options as unknown)) throw optionError('connection.options', "must be the connection's options object.");
  if (!booleanOr('connection.options.brute_force_protection', options.brute_force_protection, true)) {
    throw optionError(
      'connection.options.brute_force_protection',
      'is false, but this package always limits wrong codes (otp.maxAttempts) and sends (rateLimits); that protection cannot be turned off. Remove the field or set it to true, and tune otp.maxAttempts and rateLimits instead.',
    );
  }
  const name = connection.name ?? options.name ?? 'sms';
  if (typeof name !== 'string' || name.trim() === '')
    throw optionError('connection.name', 'must be the connection\'s name, such as "sms".');

  const enabledClients = enabledClientsOf(connection.enabled_clients);
  const template = templateFrom(options);
  const otp = otpFrom(options.totp);
  const disableSignup = booleanOr('connection.options.disable_signup', options.disable_signup, false);
  const clients = extras.clients === undefined ? undefined : clientsFrom(extras.clients, enabledClients);
  // The sender last: every plain field is checked before a provider client is built.
  const settings: Auth0ConnectionSettings = {
    connection: name,
    sender: senderFrom(options, extras),
    ...template,
    otp,
    disableSignup,
  };
  if (enabledClients !== undefined) settings.enabledClients = enabledClients;
  if (clients !== undefined) settings.clients = clients;
  return settings;
}
