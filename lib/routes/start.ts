/**
 * POST /passwordless/start: checks the client and the number, applies the send limits,
 * stores the new code's HMAC, renders the message and sends it. A failed send leaves no
 * pending code.
 */
import type { Request, Response } from 'express';
import { ErrorCodes, PasswordlessError, badRequest } from '../errors';
import { requestLanguage } from '../language';
import { composeMessage } from '../message';
import { logEvent } from '../log';
import { codeHash, codeKey, generateCode, newId } from '../otp';
import type { Config, ResolvedClient } from '../options';
import type { CodeRecord } from '../types';
import { guarded, storeContext, type Runtime } from '../runtime';
import { authenticateClient, field, readBody, readPhone } from './request';

const FIELDS = ['client_id', 'connection', 'phone_number', 'send', 'client_secret', 'authParams'] as const;

/** `authParams` must be an object; its `nonce` (a string) is kept with the code for the ID token. */
function readAuthParams(authParams: unknown): string | undefined {
  if (authParams === undefined) return undefined;
  if (authParams === null || typeof authParams !== 'object' || Array.isArray(authParams)) {
    throw badRequest(ErrorCodes.badAuthParams, 'authParams must be an object.');
  }
  const nonce = Object.hasOwn(authParams, 'nonce') ? (authParams as Record<string, unknown>).nonce : undefined;
  if (nonce === undefined) return undefined;
  if (typeof nonce !== 'string' || nonce.length === 0 || nonce.length > 512) {
    throw badRequest(ErrorCodes.badAuthParams, 'authParams.nonce must be a string of at most 512 characters.');
  }
  return nonce;
}

async function knownUser(config: Config, req: Request, client: ResolvedClient, phone: string): Promise<boolean> {
  const found = await guarded(config, async () => config.users?.find?.(phone, { clientId: client.clientId, request: req }));
  return Boolean(found);
}

/** A sender's error as the contract's answer, scrubbed of the message body (it holds the code). */
function sendFailure(err: unknown, code: string): PasswordlessError {
  const fallback = new PasswordlessError(ErrorCodes.smsProviderError, 502, 'The SMS provider could not send the message. Try again later.');
  if (!(err instanceof PasswordlessError)) return fallback;
  return err.message.includes(code) ? new PasswordlessError(err.code, err.status, fallback.message) : err;
}

export function startRoute({ config, limits }: Runtime) {
  return async function start(req: Request, res: Response): Promise<void> {
    const body = readBody(req, FIELDS);
    const client = authenticateClient(config, body);
    const phone = readPhone(config, field(body, 'phone_number'), true).e164;
    const send = field(body, 'send');
    if (send !== undefined && send !== 'code') {
      throw badRequest(ErrorCodes.badSend, 'Only send="code" is supported by an SMS connection.');
    }
    const nonce = readAuthParams(field(body, 'authParams'));

    try {
      await limits.checkStart({ ip: req.ip ?? '', phone, clientId: client.clientId });
    } catch (err) {
      if (err instanceof PasswordlessError && err.status === 429) logEvent(config.logger, 'rate_limited', { phone, clientId: client.clientId, reason: 'start' });
      throw err;
    }

    const now = config.now();
    const code = generateCode(config.otp.length);
    const language = requestLanguage(req);
    const message = composeMessage(config, req, { applicationName: client.name, phone, code, language });
    const key = codeKey(config.secret, phone, client.clientId);
    const record: CodeRecord = { id: newId(), hash: codeHash(config.secret, phone, client.clientId, code), expiresAt: now + config.otp.ttlMs };
    if (nonce !== undefined) record.data = nonce;
    const ctx = storeContext(config, req, now);

    if (config.disableSignup && !(await knownUser(config, req, client, phone))) {
      // No SMS that could log in, and the same answer as for a known number (no enumeration).
      logEvent(config.logger, 'login_failed', { phone, clientId: client.clientId, reason: 'unknown_user' });
      res.status(200).json({ _id: record.id, phone_number: phone, request_language: language });
      return;
    }

    // Saved before sending: a store outage is found before any money is spent on an SMS.
    await guarded(config, () => config.store.save(key, record, ctx));
    try {
      await config.sender.send({ to: phone, body: message, clientId: client.clientId, language, request: { ip: req.ip ?? '', userAgent: String(req.headers['user-agent'] ?? '').slice(0, 512) } });
    } catch (err) {
      await guarded(config, () => config.store.remove(key, ctx));
      const failure = sendFailure(err, code);
      // The provider's text can quote the number in clear, so only the status is logged.
      logEvent(config.logger, 'send_failed', { phone, clientId: client.clientId, reason: `${failure.status} ${failure.code}` });
      throw failure;
    }
    logEvent(config.logger, 'code_sent', { phone, clientId: client.clientId });
    res.status(200).json({ _id: record.id, phone_number: phone, request_language: language });
  };
}
