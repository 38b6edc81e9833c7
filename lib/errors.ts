/**
 * Every answer this package can give a client, as data: code, HTTP status and text in one
 * table. Routes and the core raise entries by name (`fail('wrongCode')`), so a text is
 * written once and the README's error table is tested against this one.
 */
export class PasswordlessError extends Error {
  readonly code: string;
  /** The HTTP status of a request error; 0 for a configuration error (thrown at construction, never answered). */
  readonly status: number;
  /** Extra response headers (for example `Retry-After`). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: string, status: number, message: string, headers: Readonly<Record<string, string>> = NO_HEADERS) {
    super(message);
    this.name = 'PasswordlessError';
    this.code = code;
    this.status = status;
    this.headers = headers;
  }
}

/** A mistake in the options, thrown by the factories at construction. `option` is its full name. */
export class ConfigurationError extends PasswordlessError {
  readonly option: string;
  constructor(option: string, message: string) {
    super('invalid_option', 0, message);
    this.name = 'ConfigurationError';
    this.option = option;
  }
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** A configuration mistake, thrown at construction: never sent to a client. */
export function optionError(option: string, message: string): ConfigurationError {
  return new ConfigurationError(option, `express-passwordless-sms: option \`${option}\` ${message}`);
}

/** The answer to a wrong, expired or never-sent code: one text for all three, on purpose. */
export const WRONG_CODE_MESSAGE = 'Wrong phone number or verification code.';

/** Auth0's text for the token grant once the code is void. */
export const MAX_ATTEMPTS_MESSAGE = "You've reached the maximum number of attempts. Please try to login again.";

export const OTP_GRANT = 'http://auth0.com/oauth/grant-type/passwordless/otp';

interface Entry {
  readonly code: string;
  readonly status: number;
  /** `{name}` placeholders are filled from the variables given to `fail`. */
  readonly text: string;
}

function entry(code: string, status: number, text: string): Entry {
  return Object.freeze({ code, status, text });
}

export const CATALOGUE = Object.freeze({
  // Request shape
  notAnObject: entry('bad.request', 400, 'Send the parameters as a JSON object or an urlencoded form.'),
  jsonAsForm: entry(
    'bad.request',
    400,
    'The body looks like JSON sent without `Content-Type: application/json`. Send the header, or send an urlencoded form.',
  ),
  propertyNotAllowed: entry('bad.request', 400, 'The property {name} is not allowed. Allowed: {allowed}.'),
  bracketPropertyNotAllowed: entry(
    'bad.request',
    400,
    'The property {name} is not allowed. Allowed: {allowed}. If the app mounts express.urlencoded({ extended: false }) before this router, that parser left nested fields unread: mount it after the router, or with extended: true.',
  ),
  bodyReadByAnotherParser: entry(
    'bad.request',
    400,
    'The body was read as raw bytes or text by a parser the app mounts before this router (express.raw() or express.text()): mount those on your own routes, or after the router, which reads JSON and urlencoded bodies itself.',
  ),
  bodyTooLarge: entry('bad.request', 413, 'The request body is too large.'),
  bodyNotJson: entry('bad.request', 400, 'The request body is not valid JSON.'),
  bodyUnreadable: entry('bad.request', 400, 'The request body could not be read. Send JSON or urlencoded UTF-8.'),
  // auth.start(req)/auth.verify(req) on a body no parser of the app read: the app takes no such
  // bodies (a JSON post to a form page) or forgot its parser; either way not the package's 500.
  noBodyParser: entry(
    'bad.request',
    415,
    'The request body was not read: this route takes only the body types its app parses. Send an urlencoded form (or JSON, where the app parses it); the app itself would mount express.urlencoded() (or express.json()) before the route that calls auth.start(req) or auth.verify(req).',
  ),
  encodingUnsupported: entry(
    'bad.request',
    415,
    'The request body uses a Content-Encoding this server does not accept. Send it uncompressed, or as gzip or deflate (br too where the app runs Express 5).',
  ),
  crossSite: entry(
    'bad.request',
    403,
    'Cross-site requests are refused: call this route from your own site (or list the site in allowedOrigins).',
  ),
  // Client and connection
  missingClientId: entry('bad.client_id', 400, 'Missing required property: client_id'),
  unknownClient: entry(
    'bad.client_id',
    400,
    'Unknown client_id: "{name}". It must be the clientId of one of the clients given to passwordless().',
  ),
  missingConnection: entry('bad.connection', 400, 'Missing required property: connection'),
  unknownConnection: entry('bad.connection', 400, 'Connection does not exist'),
  connectionDisabled: entry('bad.connection', 400, 'Connection is disabled'),
  clientAuthFailed: entry('unauthorized_client', 401, 'Client authentication failed: send the right client_secret.'),
  // Phone number, send, authParams, code
  missingPhone: entry('bad.phone_number', 400, 'Missing required property: phone_number'),
  invalidPhone: entry('bad.phone_number', 400, 'The phone_number is not a valid phone number in international format (like +14155550123).'),
  countryNotAllowed: entry('bad.phone_number', 400, 'Messages cannot be sent to this country.'),
  numberTypeBlocked: entry('bad.phone_number', 400, 'This kind of phone number cannot receive login codes. Use a mobile number.'),
  badSend: entry('bad.send', 400, 'Only send="code" is supported by an SMS connection.'),
  badAuthParams: entry('bad.authParams', 400, 'authParams must be an object.'),
  badNonce: entry('bad.authParams', 400, 'authParams.nonce must be a string of at most 256 characters.'),
  missingCode: entry('bad.verification_code', 400, 'Missing required parameter: {name}'),
  codeNotString: entry(
    'bad.verification_code',
    400,
    '{name} must be a string of digits, such as "012345": a number loses its leading zeros.',
  ),
  // Outcomes of a code
  wrongCode: entry('invalid_grant', 403, WRONG_CODE_MESSAGE),
  tooManyAttempts: entry('too_many_attempts', 429, 'Too many wrong codes were entered. Request a new code.'),
  // Limits
  cooldown: entry('too_many_requests', 429, 'A code was just sent to this number. Try again in {seconds} seconds.'),
  sendsPerPhone: entry('too_many_requests', 429, 'Too many codes were sent to this number. Try again in {seconds} seconds.'),
  sendsPerPhoneToday: entry('too_many_requests', 429, 'Too many codes were sent to this number today. Try again in {seconds} seconds.'),
  startsPerAddress: entry('too_many_requests', 429, 'Too many login attempts from this network. Try again in {seconds} seconds.'),
  sendsPerPrefix: entry('too_many_requests', 429, 'Too many codes were sent to numbers like this one. Try again in {seconds} seconds.'),
  sendsPerClient: entry('too_many_requests', 429, 'This application has sent its daily number of codes. Try again in {seconds} seconds.'),
  sendsPerDay: entry('too_many_requests', 429, 'The daily number of codes has been sent. Try again in {seconds} seconds.'),
  fraudPause: entry('too_many_requests', 429, 'Codes to numbers like this one are paused for now. Try again in {seconds} seconds.'),
  verifiesPerAddress: entry(
    'too_many_requests',
    429,
    'Too many wrong codes were entered from this network. Try again in {seconds} seconds.',
  ),
  failedVerifiesPerPhone: entry(
    'too_many_attempts',
    429,
    'Too many wrong codes were entered for this number. Try again in {seconds} seconds.',
  ),
  clientAuthPerAddress: entry(
    'too_many_requests',
    429,
    'Too many failed client authentications from this network. Try again in {seconds} seconds.',
  ),
  // Providers and backing services
  providerFailed: entry('sms_provider_error', 502, 'The SMS provider could not send the message. Try again later.'),
  providerFailedWithCode: entry('sms_provider_error', 502, 'The SMS provider could not send the message. Try again later. (Code: {code})'),
  providerRefusedNumber: entry('sms_provider_error', 400, '{message} (Code: {code})'),
  providerTimeout: entry(
    'sms_provider_error',
    502,
    'The {provider} did not answer within {ms} ms. The SMS may still arrive: its code works if it does.',
  ),
  providerUnreachable: entry('sms_provider_error', 502, 'The SMS gateway could not be reached{reason}. The send was not retried.'),
  providerNoAnswer: entry(
    'sms_provider_error',
    502,
    'The SMS provider gave no answer. The SMS may still arrive: its code works if it does.',
  ),
  gatewayUnexpected: entry('sms_provider_error', 502, 'Unexpected response while calling the SMS gateway: {status}'),
  gatewayAuthFailed: entry('sms_provider_error', 502, 'Authentication failed while calling the SMS gateway: 401'),
  messageTooLong: entry(
    'sms_provider_error',
    400,
    'The message is {length} characters long; an SMS may have at most {max}. Shorten the template. (Code: 21617)',
  ),
  unavailable: entry('temporarily_unavailable', 503, 'The login service is temporarily unavailable. Try again in a moment.'),
  // The app's own bugs
  noSession: entry(
    'server_error',
    500,
    'express-passwordless-sms needs express-session: mount app.use(session({ ... })) before the passwordless router and requireAuth.',
  ),
  templateFailed: entry('server_error', 500, 'The message template failed to render.'),
  templateWithoutCode: entry('server_error', 500, 'The message template rendered no code for this request, so no SMS was sent.'),
  hookFailed: entry('server_error', 500, 'The login failed because of an error in the application. Try again later.'),
  internal: entry('server_error', 500, 'Internal error.'),
  unauthorized: entry('unauthorized', 401, 'Log in first.'),
  // The token endpoint (Auth0's Authentication API shapes)
  tokenMissingParameter: entry('invalid_request', 400, 'Missing required parameter: {name}'),
  tokenParameterNotString: entry('invalid_request', 400, 'The parameter {name} must be a string.'),
  tokenBadBody: entry('invalid_request', 400, 'Send the parameters as an urlencoded form or a JSON object.'),
  tokenBadRealm: entry('invalid_request', 400, 'The realm "{name}" is not this connection.'),
  tokenBadBasic: entry(
    'invalid_request',
    400,
    "The Authorization header's Basic credentials could not be read: send base64 of client_id:client_secret.",
  ),
  tokenTwoClientAuth: entry(
    'invalid_request',
    400,
    'Send the client credentials once: in the Authorization header (client_secret_basic) or as client_secret in the body, not both.',
  ),
  tokenClientIdMismatch: entry('invalid_request', 400, 'The client_id in the body is not the one in the Authorization header.'),
  unsupportedGrant: entry('unsupported_grant_type', 400, 'Unsupported grant type: {name}'),
  tokenUnknownClient: entry('unauthorized_client', 403, 'Unknown client.'),
  tokenClientAuthFailed: entry('unauthorized_client', 403, 'Client authentication failed: send the right client_secret.'),
  tokenConnectionDisabled: entry('unauthorized_client', 403, 'Connection is disabled'),
  grantNotAllowed: entry('unauthorized_client', 403, `Grant type '${OTP_GRANT}' not allowed for the client.`),
  tokenMaxAttempts: entry('invalid_grant', 403, MAX_ATTEMPTS_MESSAGE),
  unknownAudience: entry('access_denied', 403, 'Service not found: {name}'),
  invalidToken: entry('invalid_token', 401, 'The access token is missing, invalid or expired.'),
  insufficientScope: entry('insufficient_scope', 403, 'The access token was not granted the openid scope that /userinfo needs.'),
} satisfies Record<string, Entry>);

export type ErrorName = keyof typeof CATALOGUE;

/** Every `error` value a route can answer with, by a name to write in code. */
export const ErrorCodes = Object.freeze({
  badClientId: 'bad.client_id',
  badConnection: 'bad.connection',
  badPhoneNumber: 'bad.phone_number',
  badSend: 'bad.send',
  badAuthParams: 'bad.authParams',
  badVerificationCode: 'bad.verification_code',
  badRequest: 'bad.request',
  unauthorizedClient: 'unauthorized_client',
  invalidGrant: 'invalid_grant',
  invalidRequest: 'invalid_request',
  unsupportedGrantType: 'unsupported_grant_type',
  accessDenied: 'access_denied',
  invalidToken: 'invalid_token',
  insufficientScope: 'insufficient_scope',
  tooManyAttempts: 'too_many_attempts',
  tooManyRequests: 'too_many_requests',
  smsProviderError: 'sms_provider_error',
  temporarilyUnavailable: 'temporarily_unavailable',
  unauthorized: 'unauthorized',
  serverError: 'server_error',
  invalidOption: 'invalid_option',
} as const);
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * Answers without variables are built once and shared: they are the hot path of an attacker
 * guessing codes, and a stack trace (which these never need) costs more than the answer.
 */
const SHARED = new Map<ErrorName, PasswordlessError>();

function build(code: string, status: number, message: string, headers?: Readonly<Record<string, string>>): PasswordlessError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new PasswordlessError(code, status, message, headers);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** The catalogue's answer `name`, with its `{placeholders}` filled. */
export function fail(
  name: ErrorName,
  vars?: Readonly<Record<string, string | number>>,
  headers?: Readonly<Record<string, string>>,
): PasswordlessError {
  const e: Entry = CATALOGUE[name];
  if (!vars && !headers) {
    let shared = SHARED.get(name);
    if (!shared) {
      shared = Object.freeze(build(e.code, e.status, e.text));
      SHARED.set(name, shared);
    }
    return shared;
  }
  const text = vars ? e.text.replace(/\{(\w+)\}/g, (m, key: string) => (vars[key] === undefined ? m : String(vars[key]))) : e.text;
  return build(e.code, e.status, text, headers);
}

/**
 * Sends whose outcome is unknown: the request reached the provider (or may have) and no answer
 * came back in time, so the SMS may still go out. Each may carry its late outcome, a promise of
 * whether the request, left to finish, was accepted after all (false when it failed or never
 * finished). Kept apart from the error's fields so that a shared answer is never marked for
 * every later use.
 */
const OUTCOME_UNKNOWN = new WeakMap<object, Promise<boolean> | undefined>();

/**
 * What the provider said, for operators' logs (a Twilio error code such as `20003`, `HTTP 503`,
 * `timeout`, `ECONNREFUSED`): never a text, which can quote the number. Kept apart from the
 * answer's fields, which the client sees.
 */
const PROVIDER_CODES = new WeakMap<object, string>();

/** `err`, or a copy of it (with its marks) when it is a shared (frozen) answer, so that a mark stays on this send. */
function ownError<T extends object>(err: T): T {
  if (!(err instanceof PasswordlessError) || !Object.isFrozen(err)) return err;
  return copyWithMarks(err) as T;
}

/** A fresh copy of a PasswordlessError with the marks of the original. */
export function copyWithMarks(err: PasswordlessError): PasswordlessError {
  const copy = new PasswordlessError(err.code, err.status, err.message, err.headers);
  if (OUTCOME_UNKNOWN.has(err)) OUTCOME_UNKNOWN.set(copy, OUTCOME_UNKNOWN.get(err));
  const said = PROVIDER_CODES.get(err);
  if (said !== undefined) PROVIDER_CODES.set(copy, said);
  return copy;
}

/**
 * Marks `err` as a send that may have gone out (a timeout, a connection reset after the
 * request), with its late outcome when the request is left to finish.
 */
export function outcomeUnknown<T extends object>(err: T, late?: Promise<boolean>): T {
  const own = ownError(err);
  OUTCOME_UNKNOWN.set(own, late);
  return own;
}

export function isOutcomeUnknown(err: unknown): boolean {
  return typeof err === 'object' && err !== null && OUTCOME_UNKNOWN.has(err);
}

/** Whether a send of unknown outcome went out after all, when its sender can tell; undefined when it cannot. */
export function lateOutcomeOf(err: unknown): Promise<boolean> | undefined {
  return typeof err === 'object' && err !== null ? OUTCOME_UNKNOWN.get(err) : undefined;
}

/**
 * A send the provider did not answer within `ms`: of unknown outcome, with `late`, whether the
 * request left to finish went out after all. One answer for every sender.
 */
export function sendTimedOut(provider: string, ms: number, late: Promise<boolean>): PasswordlessError {
  return withProviderCode(outcomeUnknown(fail('providerTimeout', { provider, ms }), late), 'timeout');
}

export function withProviderCode<T extends object>(err: T, code: string): T {
  const own = ownError(err);
  PROVIDER_CODES.set(own, code);
  return own;
}

export function providerCodeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? PROVIDER_CODES.get(err) : undefined;
}

/**
 * A body error on the OAuth token endpoint: the same status and text under OAuth's
 * `invalid_request`, the code OAuth clients (Auth0's SDKs among them) read there.
 */
export function asOAuthError(err: PasswordlessError): PasswordlessError {
  if (err === fail('notAnObject')) return fail('tokenBadBody');
  return err.code === 'bad.request' ? build('invalid_request', err.status, err.message, err.headers) : err;
}

/**
 * Caller input quoted in an answer's text (a property's name, a grant type, an audience): at
 * most `max` characters, each outside a plain set (letters, digits, `_ .:/@+~=,;!?#%()[]-`)
 * shown as `?`. Apps render `error_description` in their pages, often without escaping it, so
 * the request must not be able to put markup there.
 */
export function shown(input: string, max: number): string {
  return input.slice(0, max).replace(/[^\w .:/@+~=,;!?#%()[\]-]/g, '?');
}

/** A limit's refusal: the catalogue's text with the wait, and `Retry-After`. */
export function refused(name: ErrorName, retryAfterMs: number): PasswordlessError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return fail(name, { seconds }, { 'Retry-After': String(seconds) });
}

/** A backing service that failed: 503 with a short `Retry-After`, so clients back off and try again. */
export function unavailable(retryAfterSeconds = 2): PasswordlessError {
  return fail('unavailable', undefined, { 'Retry-After': String(retryAfterSeconds) });
}
