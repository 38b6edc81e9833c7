/**
 * Sends through the official `twilio` SDK. A send is never retried: a request that timed
 * out may still have reached Twilio, and retrying it can deliver the code twice.
 */
import type twilio from 'twilio';
import { loadTwilio } from './twilio-sdk';
import { isAbsoluteHttpUrl } from '../http/absolute-url';
import { PasswordlessError, fail, outcomeUnknown, sendTimedOut, withProviderCode } from '../errors';
import { checkObject, keysOf, optionError, shownValue } from '../config/validate';
import { fixedTimeout, lateGraceMs } from '../timeout';
import type { SmsMessage, SmsSender } from '../types';
import { selfTimed } from './deadline';

/**
 * The parts of the SDK this sender touches, written structurally so that the published
 * types do not pull in the SDK's own (which need extra @types under `skipLibCheck: false`).
 */
export interface TwilioMessagesClient {
  messages: {
    create(params: {
      to: string;
      body: string;
      from?: string;
      messagingServiceSid?: string;
      statusCallback?: string;
    }): Promise<{ sid: string }>;
  };
}
export interface TwilioHttpClient {
  // The SDK's RequestOptions type, left open here so any RequestClient (or a subclass) fits.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  request(options: any): Promise<unknown>;
}

export interface TwilioSenderOptions {
  /** `AC` + 32 hex. Required unless `client` is given. */
  accountSid?: string | undefined;
  /** The account's auth token (or use `apiKey` + `apiSecret`). */
  authToken?: string | undefined;
  /** An API key SID, `SK` + 32 hex, with `apiSecret`. */
  apiKey?: string | undefined;
  apiSecret?: string | undefined;
  /** `MG` + 32 hex. Exactly one of `messagingServiceSid` and `from`. */
  messagingServiceSid?: string | undefined;
  /** An E.164 number, a short code, or an alphanumeric sender ID (up to 11 characters). */
  from?: string | undefined;
  /** A ready `twilio(...)` client, instead of credentials. */
  client?: TwilioMessagesClient | undefined;
  /** Handed to the SDK as its `httpClient` (its documented hook; tests reach an emulator with it). */
  httpClient?: TwilioHttpClient | undefined;
  /** Twilio posts delivery status updates here: an absolute http(s) URL. */
  statusCallback?: string | undefined;
  /**
   * The account's auth token, which Twilio signs delivery reports with. Required with
   * `statusCallback` when sending with `apiKey`/`apiSecret` or a ready `client`; overrides
   * `authToken` for the check otherwise.
   */
  webhookAuthToken?: string | undefined;
  /** How long to wait for Twilio, in ms. Default 10 000. */
  timeoutMs?: number | undefined;
}

/** Where delivery reports arrive and the token that proves they come from Twilio. */
export interface TwilioDeliveryReports {
  readonly url: string;
  readonly authToken: string;
}

/** A Twilio sender; `deliveryReports` is set when `statusCallback` is. */
export interface TwilioSender extends SmsSender {
  readonly deliveryReports?: TwilioDeliveryReports;
}

const KNOWN = keysOf<TwilioSenderOptions>()([
  'accountSid',
  'authToken',
  'apiKey',
  'apiSecret',
  'messagingServiceSid',
  'from',
  'client',
  'httpClient',
  'statusCallback',
  'webhookAuthToken',
  'timeoutMs',
]);

/** Twilio codes that mean "this destination cannot get this SMS": the user's problem, a 400. */
const REFUSED_DESTINATION = new Set([21211, 21408, 21610, 21612, 21614]);

const SID = { accountSid: /^AC[0-9a-fA-F]{32}$/, messagingServiceSid: /^MG[0-9a-fA-F]{32}$/, apiKey: /^SK[0-9a-fA-F]{32}$/ };

function checkSid(name: keyof typeof SID, value: unknown, prefix: string): void {
  if (typeof value !== 'string' || !SID[name].test(value)) {
    throw optionError(
      `twilioSender.${name}`,
      `must be "${prefix}" followed by 32 hex characters (got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 6) + '…') : typeof value}). Copy it from the Twilio console.`,
    );
  }
}

function isValidFrom(from: string): boolean {
  if (/^\+[1-9]\d{6,14}$/.test(from)) return true; // E.164
  if (/^\d{3,8}$/.test(from)) return true; // short code
  // Alphanumeric sender ID: 1..11 of letters, digits and spaces, at least one letter.
  return /^[A-Za-z0-9 ]{1,11}$/.test(from) && /[A-Za-z]/.test(from);
}

function validate(options: TwilioSenderOptions): void {
  checkObject<TwilioSenderOptions>(options, 'twilioSender(options)', KNOWN, '{ accountSid, authToken, messagingServiceSid }', false);
  if (options.client !== undefined) {
    if (!options.client || typeof options.client.messages?.create !== 'function')
      throw optionError('twilioSender.client', 'must be a client made by twilio(accountSid, authToken).');
  } else {
    checkSid('accountSid', options.accountSid, 'AC');
    if (options.apiKey !== undefined || options.apiSecret !== undefined) {
      checkSid('apiKey', options.apiKey, 'SK');
      if (typeof options.apiSecret !== 'string' || options.apiSecret.length === 0)
        throw optionError('twilioSender.apiSecret', 'must be the secret of the API key given as `apiKey`.');
      if (options.authToken !== undefined)
        throw optionError('twilioSender.authToken', 'cannot be combined with `apiKey`/`apiSecret`: give one kind of credential.');
    } else if (typeof options.authToken !== 'string' || options.authToken.length === 0) {
      throw optionError(
        'twilioSender.authToken',
        'is required (or `apiKey` and `apiSecret`, or a ready `client`). Find it in the Twilio console.',
      );
    }
  }
  const hasService = options.messagingServiceSid !== undefined;
  const hasFrom = options.from !== undefined;
  if (hasService === hasFrom) throw optionError('twilioSender.messagingServiceSid', 'or `from` must be given, exactly one of them.');
  if (hasService) checkSid('messagingServiceSid', options.messagingServiceSid, 'MG');
  if (hasFrom && (typeof options.from !== 'string' || !isValidFrom(options.from))) {
    throw optionError(
      'twilioSender.from',
      'must be an E.164 number like "+14155550100", a short code, or an alphanumeric sender ID of up to 11 characters.',
    );
  }
  if (options.statusCallback !== undefined && !isAbsoluteHttpUrl(options.statusCallback)) {
    throw optionError('twilioSender.statusCallback', 'must be an absolute http(s) URL such as "https://example.com/twilio/status".');
  }
  validateWebhookAuthToken(options);
  const timeout = options.timeoutMs;
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 100 || timeout > 120_000)) {
    throw optionError(
      'twilioSender.timeoutMs',
      `must be an integer number of milliseconds from 100 to 120000 (got ${shownValue(timeout)}).`,
    );
  }
  if (options.httpClient !== undefined && (!options.httpClient || typeof options.httpClient.request !== 'function')) {
    throw optionError('twilioSender.httpClient', 'must be an object with a request(options) method, such as new twilio.RequestClient().');
  }
}

/**
 * Twilio signs delivery reports with the account's auth token, which an API key or a ready
 * client does not reveal: without it every report would be refused, so say so now.
 */
function validateWebhookAuthToken(options: TwilioSenderOptions): void {
  const token = options.webhookAuthToken;
  if (token !== undefined && (typeof token !== 'string' || token.length === 0)) {
    throw optionError('twilioSender.webhookAuthToken', 'must be the account auth token (a non-empty string).');
  }
  if (options.statusCallback !== undefined && token === undefined && options.authToken === undefined) {
    throw optionError(
      'twilioSender.webhookAuthToken',
      'is required with `statusCallback` when sending with `apiKey`/`apiSecret` or a ready `client`: Twilio signs delivery reports with the account auth token.',
    );
  }
}

/** The SDK's (axios's) errors for a request that was sent and never answered: the SMS may have gone. */
const UNANSWERED = new Set(['ECONNABORTED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ECONNRESET']);

/**
 * Maps whatever the SDK threw to the contract's answers (400 for a refused destination, else
 * 502), each with what Twilio said for the logs: its error code, else the HTTP status, else
 * the network error's code.
 */
export function twilioError(err: unknown): PasswordlessError {
  if (err instanceof PasswordlessError) return err;
  const e = err as { code?: unknown; message?: unknown; status?: unknown };
  const network = typeof e?.code === 'string' && /^[A-Z0-9_]{1,40}$/.test(e.code) ? e.code : undefined;
  if (network !== undefined && UNANSWERED.has(network)) return withProviderCode(outcomeUnknown(fail('providerNoAnswer', {})), network);
  const code = typeof e?.code === 'number' ? e.code : undefined;
  if (code !== undefined && REFUSED_DESTINATION.has(code)) {
    return withProviderCode(fail('providerRefusedNumber', { message: String(e.message), code }), String(code));
  }
  if (code !== undefined) return withProviderCode(fail('providerFailedWithCode', { code }), String(code));
  const said = typeof e?.status === 'number' ? `HTTP ${e.status}` : network;
  return said === undefined ? fail('providerFailed', {}) : withProviderCode(fail('providerFailed', {}), said);
}

export function twilioSender(options: TwilioSenderOptions): TwilioSender {
  validate(options);
  const timeoutMs = options.timeoutMs ?? 10_000;
  // The SDK ignores its own timeout/autoRetry when given an httpClient, so they
  // are set on the RequestClient we build, and our own timer bounds a user-supplied one.
  const sdk = loadTwilio();
  // The SDK's own timeout comes a grace after ours: a request we stopped waiting for is left
  // to finish, so that its late answer tells whether the SMS went out after all.
  const httpClient = options.httpClient ?? new sdk.RequestClient({ timeout: timeoutMs + lateGraceMs(timeoutMs), autoRetry: false });
  const client: TwilioMessagesClient =
    options.client ??
    sdk(options.apiKey ?? options.accountSid, options.apiSecret ?? options.authToken, {
      accountSid: options.accountSid,
      httpClient: httpClient as InstanceType<typeof twilio.RequestClient>,
      autoRetry: false,
    });
  const route =
    options.messagingServiceSid !== undefined ? { messagingServiceSid: options.messagingServiceSid } : { from: options.from as string };

  const bounded = fixedTimeout(timeoutMs);
  const sender: TwilioSender = {
    name: 'twilio',
    async send(message: SmsMessage) {
      try {
        const creating = client.messages.create({
          to: message.to,
          body: message.body,
          ...route,
          ...(options.statusCallback ? { statusCallback: options.statusCallback } : {}),
        });
        const sent = await bounded(creating, () =>
          sendTimedOut(
            'SMS provider',
            timeoutMs,
            // Whether Twilio accepted it after all (false once it failed or the SDK gave up).
            creating.then(
              () => true,
              () => false,
            ),
          ),
        );
        return { id: sent.sid };
      } catch (err) {
        throw twilioError(err);
      }
    },
  };
  if (options.statusCallback !== undefined) {
    const deliveryReports: TwilioDeliveryReports = Object.freeze({
      url: options.statusCallback,
      authToken: (options.webhookAuthToken ?? options.authToken) as string,
    });
    // Not enumerable, so that logging or spreading the sender does not print the token.
    Object.defineProperty(sender, 'deliveryReports', { value: deliveryReports, enumerable: false });
  }
  return selfTimed(sender);
}
