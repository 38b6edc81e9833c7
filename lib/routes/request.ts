/**
 * Reading a route's body: only the allowed properties, each of the right type, and the
 * client checks every route shares (client_id, connection, client_secret).
 */
import type { Request } from 'express';
import { ErrorCodes, PasswordlessError, badRequest } from '../errors';
import { safeEqual } from '../otp';
import type { Config, ResolvedClient } from '../options';
import { parsePhone, type Phone } from '../phone';

export type Body = Readonly<Record<string, unknown>>;

/** The body as an object of allowed properties; anything else is `bad.request`. */
export function readBody(req: Request, allowed: readonly string[]): Body {
  const body: unknown = req.body;
  // Express 4 leaves `{}` where Express 5 leaves `undefined` for a body it did not parse:
  // the content type decides, so both answer alike.
  const parsed = req.is(['application/json', 'application/x-www-form-urlencoded']);
  if (!parsed || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest(ErrorCodes.badRequest, 'Send the parameters as a JSON object or an urlencoded form.');
  }
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      throw badRequest(ErrorCodes.badRequest, `The property ${JSON.stringify(key.slice(0, 40))} is not allowed. Allowed: ${allowed.join(', ')}.`);
    }
  }
  return body as Body;
}

/** Own string property or undefined: never reads through the prototype (`__proto__`, `constructor`). */
export function field(body: Body, name: string): unknown {
  return Object.hasOwn(body, name) ? body[name] : undefined;
}

/**
 * The client checks in Auth0's order: known client, right connection and enabled, then the
 * secret of a confidential client (compared in constant time).
 */
export function authenticateClient(config: Config, body: Body): ResolvedClient {
  const clientId = field(body, 'client_id');
  if (typeof clientId !== 'string' || clientId === '') throw badRequest(ErrorCodes.badClientId, 'Missing required parameter: client_id');
  const client = config.clients.get(clientId);
  if (!client) throw badRequest(ErrorCodes.badClientId, 'Unknown client_id.');
  const connection = field(body, 'connection');
  if (typeof connection !== 'string' || connection === '') throw badRequest(ErrorCodes.badConnection, 'Missing required parameter: connection');
  if (connection !== config.connection) throw badRequest(ErrorCodes.badConnection, 'Connection does not exist.');
  if (!client.enabled) throw badRequest(ErrorCodes.badConnection, 'Connection is disabled');
  if (client.secret !== undefined) {
    const secret = field(body, 'client_secret');
    if (typeof secret !== 'string' || !safeEqual(secret, client.secret)) {
      throw new PasswordlessError(ErrorCodes.unauthorizedClient, 401, 'Client authentication failed: send the right client_secret.');
    }
  }
  return client;
}

/** A valid number that may receive a message, or `bad.phone_number` saying why not. */
export function readPhone(config: Config, value: unknown, checkDestination: boolean): Phone {
  if (value === undefined || value === '') throw badRequest(ErrorCodes.badPhoneNumber, 'Missing required parameter: phone_number');
  const phone = parsePhone(value);
  if (!phone) throw badRequest(ErrorCodes.badPhoneNumber, 'The phone_number is not a valid phone number in international format (like +14155550123).');
  if (checkDestination) {
    if (config.allowedCountries && (!phone.country || !config.allowedCountries.has(phone.country))) {
      throw badRequest(ErrorCodes.badPhoneNumber, 'Messages cannot be sent to this country.');
    }
    if (phone.type && config.blockedNumberTypes.has(phone.type)) {
      throw badRequest(ErrorCodes.badPhoneNumber, 'This kind of phone number cannot receive login codes. Use a mobile number.');
    }
  }
  return phone;
}
