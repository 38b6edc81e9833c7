/**
 * The one error type this package raises, and the codes it uses.
 *
 * Route errors travel to the client as `{ error: code, error_description: message }` with
 * `status`; configuration errors are thrown at construction with code `invalid_option`.
 */
export class PasswordlessError extends Error {
  readonly code: string;
  readonly status: number;
  /** Extra response headers (for example `Retry-After`). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: string, status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'PasswordlessError';
    this.code = code;
    this.status = status;
    this.headers = headers;
  }
}

/** Every `error` value that a route can answer with. */
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
  tooManyAttempts: 'too_many_attempts',
  tooManyRequests: 'too_many_requests',
  smsProviderError: 'sms_provider_error',
  temporarilyUnavailable: 'temporarily_unavailable',
  unauthorized: 'unauthorized',
  serverError: 'server_error',
  invalidOption: 'invalid_option',
} as const);

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** The answer to a wrong, expired or never-sent code: one text for all three, on purpose. */
export const WRONG_CODE_MESSAGE = 'Wrong phone number or verification code.';

/**
 * An answer to a client's request, built without a stack trace: these are expected outcomes
 * (an attacker's wrong guess is the hot path), not bugs, and capturing a stack costs more
 * than the rest of the answer.
 */
export function clientError(code: string, status: number, message: string, headers?: Record<string, string>): PasswordlessError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new PasswordlessError(code, status, message, headers);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export function badRequest(code: ErrorCode, message: string): PasswordlessError {
  return clientError(code, 400, message);
}

export function wrongCode(): PasswordlessError {
  return clientError(ErrorCodes.invalidGrant, 403, WRONG_CODE_MESSAGE);
}

export function tooManyAttempts(): PasswordlessError {
  return clientError(ErrorCodes.tooManyAttempts, 429, 'Too many wrong codes were entered. Request a new code.');
}

export function storeUnavailable(): PasswordlessError {
  return new PasswordlessError(
    ErrorCodes.temporarilyUnavailable,
    503,
    'The login service is temporarily unavailable. Try again in a moment.',
  );
}

/** A configuration mistake: thrown by the factories, never sent to a client. */
export function optionError(option: string, message: string): PasswordlessError {
  return new PasswordlessError(ErrorCodes.invalidOption, 500, `express-passwordless-sms: option \`${option}\` ${message}`);
}
