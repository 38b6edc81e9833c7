/**
 * Twilio's delivery reports (the `statusCallback` of a message): a POST that says whether
 * the code reached the phone. Anyone can POST to a public URL, so nothing is believed before
 * the `X-Twilio-Signature` header proves that Twilio sent exactly these parameters to exactly
 * the configured URL.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ErrorCodes } from '../errors';
import { checkObject, keysOf, optionError } from '../config/validate';
import { maskPhone } from '../core/phone';
import { maskNumbersIn } from '../core/log';
import { loadTwilio } from '../senders/twilio-sdk';
import type { Logger } from '../types';
import { isAbsoluteHttpUrl } from './absolute-url';
import { sendJson } from './respond';

/** Twilio's `MessageStatus` values; others may come, so any string is accepted. */
export type DeliveryStatus =
  | 'accepted'
  | 'scheduled'
  | 'canceled'
  | 'queued'
  | 'sending'
  | 'sent'
  | 'failed'
  | 'delivered'
  | 'undelivered'
  | 'receiving'
  | 'received'
  | 'read'
  | 'partially_delivered'
  | (string & {});

/** One verified delivery report, as handed to `onDeliveryStatus`. */
export interface DeliveryReport {
  /** `SM…`: the `id` the sender returned for the message. */
  messageSid: string;
  status: DeliveryStatus;
  /** Twilio's error code (e.g. 30007, carrier filtering) for `failed`/`undelivered`. */
  errorCode?: number;
  /** The destination, E.164, unmasked: the app's own business, never logged here. */
  to: string;
  /** Every signed form parameter as Twilio sent it (`SmsStatus`, `AccountSid`, `From`, …). */
  params: Readonly<Record<string, string | string[]>>;
}

export interface DeliveryReportHandlerOptions {
  /** The absolute URL given to Twilio as `statusCallback`, character for character. */
  url: string;
  /** The account's auth token, which Twilio signs callbacks with. */
  authToken: string;
  /** Other accounts (failover members) whose callbacks come to the same path: a report signed by any is taken. */
  others?: ReadonlyArray<{ readonly url: string; readonly authToken: string }>;
  logger: Logger;
  /** Called once per verified report; its failure is logged, never answered to Twilio. */
  onDeliveryStatus?: (report: DeliveryReport) => void | Promise<void>;
}

const KNOWN = keysOf<DeliveryReportHandlerOptions>()(['url', 'authToken', 'others', 'logger', 'onDeliveryStatus']);

/** Statuses that mean the code never arrived: worth a warning, not just a line of info. */
const UNDELIVERED = new Set(['failed', 'undelivered']);

/** Twilio's status callbacks are a few hundred bytes; anything near this is not one. */
const BODY_LIMIT = '16kb';

function validate(options: DeliveryReportHandlerOptions): void {
  checkObject<DeliveryReportHandlerOptions>(options, 'deliveryReportHandler(options)', KNOWN, '{ url, authToken, logger }', false);
  if (!isAbsoluteHttpUrl(options.url))
    throw optionError('deliveryReportHandler.url', 'must be the absolute http(s) URL given to Twilio as statusCallback.');
  if (typeof options.authToken !== 'string' || options.authToken.length === 0)
    throw optionError('deliveryReportHandler.authToken', 'must be the Twilio auth token that signs the callbacks.');
  const logger = options.logger as Partial<Logger> | undefined;
  if (!logger || typeof logger.info !== 'function' || typeof logger.warn !== 'function' || typeof logger.error !== 'function') {
    throw optionError('deliveryReportHandler.logger', 'must have info, warn and error methods.');
  }
  if (options.onDeliveryStatus !== undefined && typeof options.onDeliveryStatus !== 'function') {
    throw optionError('onDeliveryStatus', 'must be a function (report) => void.');
  }
}

/** The path to mount the handler at: Twilio calls the configured URL, so its path is the route. */
export function deliveryReportPath(url: string): string {
  if (!isAbsoluteHttpUrl(url)) throw optionError('statusCallback', 'must be an absolute http(s) URL.');
  return new URL(url).pathname;
}

/** A single-valued form field, or undefined (absent, or repeated, which Twilio never does). */
function field(params: Record<string, unknown>, name: string): string | undefined {
  const value = params[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A logger that throws must not turn a report into a 500 that Twilio would keep retrying. */
function safeLog(logger: Logger, level: keyof Logger, entry: Record<string, unknown>): void {
  try {
    logger[level](entry, `passwordless: ${String(entry.event)}`);
  } catch {
    // Nothing better to do with a broken logger.
  }
}

function refuse(res: Response, status: number, code: string, description: string): void {
  sendJson(res, status, { error: code, error_description: description });
}

/** Reads the report out of verified parameters; undefined when it is not a message status. */
function reportOf(params: Record<string, string | string[]>): DeliveryReport | undefined {
  const messageSid = field(params, 'MessageSid');
  const status = field(params, 'MessageStatus');
  const to = field(params, 'To');
  if (messageSid === undefined || status === undefined || to === undefined) return undefined;
  const rawErrorCode = field(params, 'ErrorCode');
  const errorCode = rawErrorCode !== undefined && /^\d{1,9}$/.test(rawErrorCode) ? Number(rawErrorCode) : undefined;
  return { messageSid, status, ...(errorCode !== undefined ? { errorCode } : {}), to, params: Object.freeze({ ...params }) };
}

/**
 * The parameters as Twilio signs them, strings or lists of strings; undefined when an earlier
 * parser of the app (an extended form parser, `express.json()`) made anything else of the body,
 * which Twilio never signed (and which the SDK's signing code cannot even turn into text).
 */
export function signable(body: unknown): Record<string, string | string[]> | undefined {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) return undefined;
  for (const value of Object.values(body)) {
    if (typeof value !== 'string' && !(Array.isArray(value) && value.every((v) => typeof v === 'string'))) return undefined;
  }
  return body as Record<string, string | string[]>;
}

/** Whether one account signed these parameters; the SDK throwing on any of them is no signature. */
export function signedBy(
  // Structural, not the SDK's type: the package's declarations must not pull in the twilio SDK's.
  twilio: { validateRequest(authToken: string, signature: string, url: string, params: Record<string, string | string[]>): boolean },
  account: { url: string; authToken: string },
  signature: string,
  params: Record<string, string | string[]>,
): boolean {
  try {
    return twilio.validateRequest(account.authToken, signature, account.url, params);
  } catch {
    return false;
  }
}

/**
 * Mount with `app.post(deliveryReportPath(url), deliveryReportHandler({ url, ... }))`. It
 * parses its own body (plain `extended: false` form parsing, so the parameters are exactly
 * the strings Twilio signed) and answers 204 to whatever Twilio signed, or 403 for anything else.
 */
export function deliveryReportHandler(options: DeliveryReportHandlerOptions): RequestHandler {
  validate(options);
  const { url, authToken, logger, onDeliveryStatus } = options;
  const accounts = [{ url, authToken }, ...(options.others ?? [])];
  // Loaded here, not per request, so a missing SDK shows at start-up.
  const twilio = loadTwilio();
  const form = express.urlencoded({ extended: false, limit: BODY_LIMIT });

  async function handle(req: Request, res: Response): Promise<void> {
    const signature = req.get('x-twilio-signature');
    if (!signature) {
      safeLog(logger, 'warn', { event: 'delivery_report_refused', reason: 'missing_signature' });
      return refuse(res, 403, ErrorCodes.unauthorized, 'The X-Twilio-Signature header is missing.');
    }
    // A body some earlier parser already consumed differently fails the check: fail closed.
    const params = signable(req.body);
    if (!params || !accounts.some((a) => signedBy(twilio, a, signature, params))) {
      // Most often a wrong URL (a proxy in front, http vs https) or auth token, hence the log.
      safeLog(logger, 'warn', { event: 'delivery_report_refused', reason: 'bad_signature' });
      return refuse(res, 403, ErrorCodes.unauthorized, 'The X-Twilio-Signature header does not match this request.');
    }
    const report = reportOf(params);
    if (!report) {
      // Twilio signed it, so an error answer would only make Twilio retry and log 11200s: 204,
      // and a warning, since the usual cause is another webhook (incoming SMS) set to this URL.
      safeLog(logger, 'warn', { event: 'delivery_report_ignored', reason: 'not_a_message_status' });
      res.status(204).end();
      return;
    }

    safeLog(logger, UNDELIVERED.has(report.status) ? 'warn' : 'info', {
      event: 'delivery_status',
      messageSid: report.messageSid,
      status: report.status,
      ...(report.errorCode !== undefined ? { errorCode: report.errorCode } : {}),
      phone: maskPhone(report.to),
    });
    if (onDeliveryStatus) {
      try {
        await onDeliveryStatus(report);
      } catch (err) {
        // Still 204: an error answer makes Twilio retry a report the app cannot take anyway.
        const message = err instanceof Error ? err.message : String(err);
        safeLog(logger, 'error', {
          event: 'hook_error',
          hook: 'onDeliveryStatus',
          messageSid: report.messageSid,
          message: maskNumbersIn(message),
        });
      }
    }
    res.status(204).end();
  }

  return function passwordlessDeliveryReport(req: Request, res: Response, next: NextFunction): void {
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return refuse(res, 405, ErrorCodes.badRequest, 'Twilio delivery reports are POST requests.');
    }
    form(req, res, (err?: unknown) => {
      if (err) {
        const status = (err as { status?: unknown }).status;
        return refuse(res, status === 413 ? 413 : 400, ErrorCodes.badRequest, 'The request body could not be read as a form.');
      }
      handle(req, res).catch(next);
    });
  };
}
