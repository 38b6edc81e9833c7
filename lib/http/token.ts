/**
 * POST /oauth/token: Auth0's passwordless OTP grant. The code is redeemed by the same core
 * call as /passwordless/verify (same store, attempt limit and single use); errors keep
 * Auth0's shapes and texts.
 */
import type { Request, Response } from 'express';
import { OTP_GRANT, fail, shown } from '../errors';
import type { Login } from '../core/login';
import { safeEqual } from '../core/crypto';
import type { Config } from '../config/options';
import { logEvent } from '../core/log';
import { parsePhone } from '../core/phone';
import { signAccessToken, signIdToken } from '../tokens/sign';
import type { ResolvedTokens } from '../tokens/config';
import { forwardedFor, isJsonSentAsForm, parsedBodyType, requestInfo } from './request';
import { sendJson } from './respond';
import { bindingOf } from './routes';

/** Scopes an ID token can carry, granted whatever the audience. */
const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'phone']);

/** A string parameter, or undefined; anything else is malformed. */
function param(body: Record<string, unknown>, name: string): string | undefined {
  const value = Object.hasOwn(body, name) ? body[name] : undefined;
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw fail('tokenParameterNotString', { name });
  return value;
}

function required(body: Record<string, unknown>, name: string): string {
  const value = param(body, name);
  if (value === undefined) throw fail('tokenMissingParameter', { name });
  return value;
}

/** The OpenID scopes asked for, and those the audience lists (an API without a list grants none of its own). */
function grantedScope(tokens: ResolvedTokens, requested: string[], audience: string | undefined): string[] {
  const allowed = audience === undefined ? undefined : tokens.audiences.get(audience);
  return requested.filter((s) => OIDC_SCOPES.has(s) || allowed?.has(s) === true);
}

/** Basic credentials: `client_id:client_secret`, then base64 (RFC 7617), one or more spaces after the scheme. */
const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2})$/i;

/** A form-decoded text (RFC 6749 asks clients to encode the id and secret so), or undefined when it does not decode. */
function formDecoded(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * The one of `raw` and its form-decoded reading that `wanted` names: RFC 6749 asks clients to
 * form-encode the id and secret before base64, and most send them as they are (curl -u, axios'
 * `auth`): a secret made with `openssl rand -base64` holds `+`, which decoding reads as a space.
 * Both are compared in constant time, so trying both tells an attacker nothing; `raw` when
 * neither matches (a wrong secret, counted once).
 */
function eitherReading(raw: string, wanted: string | undefined): string {
  const decoded = formDecoded(raw);
  if (wanted === undefined || decoded === undefined || decoded === raw) return raw;
  const rawMatches = safeEqual(raw, wanted);
  const decodedMatches = safeEqual(decoded, wanted);
  return decodedMatches && !rawMatches ? decoded : raw;
}

/**
 * The client's id and secret from `Authorization: Basic` (Auth0's `client_secret_basic`), or
 * undefined when the request has no Basic credentials. Another scheme is no client
 * authentication of this endpoint's, and is left alone.
 */
function basicCredentials(req: Request, clients: Config['clients']): { clientId: string; clientSecret: string | undefined } | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !/^basic\b/i.test(header.trim())) return undefined;
  const match = BASIC.exec(header.trim());
  const text = match ? Buffer.from(match[1] as string, 'base64').toString('utf8') : '';
  const colon = text.indexOf(':');
  if (colon <= 0) throw fail('tokenBadBasic');
  const rawId = text.slice(0, colon);
  const clientId = clients.has(rawId) ? rawId : (formDecoded(rawId) ?? rawId);
  const rawSecret = text.slice(colon + 1);
  const clientSecret = eitherReading(rawSecret, clients.get(clientId)?.secret);
  return { clientId, clientSecret: clientSecret === '' ? undefined : clientSecret };
}

/** The client's credentials, from the Basic header or the body: one method per request, as RFC 6749 asks. */
function clientCredentials(
  req: Request,
  body: Record<string, unknown>,
  clients: Config['clients'],
): { clientId: string | undefined; clientSecret: string | undefined } {
  const basic = basicCredentials(req, clients);
  const clientId = param(body, 'client_id');
  if (!basic) return { clientId, clientSecret: param(body, 'client_secret') };
  if (param(body, 'client_secret') !== undefined) throw fail('tokenTwoClientAuth');
  if (clientId !== undefined && clientId !== basic.clientId) throw fail('tokenClientIdMismatch');
  return basic;
}

export function tokenRoute(login: Login, tokens: ResolvedTokens) {
  const { config } = login;
  return async function token(req: Request, res: Response): Promise<void> {
    const body: unknown = req.body;
    const parsed = parsedBodyType(req);
    if (!parsed || !body || typeof body !== 'object' || Array.isArray(body)) throw fail('tokenBadBody');
    // `curl -d '{…}'` posts JSON as a form: said so, not "Missing required parameter: grant_type".
    if (parsed === 'application/x-www-form-urlencoded' && isJsonSentAsForm(body)) throw fail('jsonAsForm');
    const b = body as Record<string, unknown>;
    const grantType = required(b, 'grant_type');
    if (grantType !== OTP_GRANT) throw fail('unsupportedGrant', { name: shown(grantType, 100) });
    const info = requestInfo(req);
    const { clientId, clientSecret } = clientCredentials(req, b, config.clients);
    const client = await login.authenticate({ clientId, clientSecret, connection: config.connection }, info.ip, 'token');
    // A public client next to HS256 clients has nothing to sign its ID tokens with; `grantTypes` may leave the grant out.
    if (client.idTokenAlg === undefined || !client.otpGrant) throw fail('grantNotAllowed');
    const realm = required(b, 'realm');
    if (realm !== config.connection) throw fail('tokenBadRealm', { name: shown(realm, 100) });
    const username = required(b, 'username');
    const otp = required(b, 'otp');
    // Asking for the /userinfo audience by name is asking for what no audience gets (Auth0 takes it too).
    const named = param(b, 'audience');
    const audience = named === tokens.userinfoAudience ? undefined : named;
    if (audience !== undefined && !tokens.audiences.has(audience)) throw fail('unknownAudience', { name: shown(audience, 200) });
    const requestNonce = param(b, 'nonce');
    const requested = (param(b, 'scope') ?? 'openid').split(/\s+/).filter(Boolean);
    const phone = parsePhone(username, false);
    // An unparseable username is answered like a wrong code: nothing about the number leaks.
    if (!phone) throw fail('wrongCode');

    const { user, nonce } = await login.redeem({
      client,
      phone: phone.e164,
      code: otp.trim(),
      request: info,
      forwardedFor: forwardedFor(req),
      // With sessionStore, the code is the session's that started it (the same agent's cookie).
      binding: bindingOf(login, req, false),
      grant: 'token',
    });
    const now = config.now();
    const scope = grantedScope(tokens, requested, audience);
    // An ID token answers an OpenID request: a scope without `openid` (an API's scopes alone)
    // gets an access token only, as on Auth0. No scope at all means `openid`.
    const openid = scope.includes('openid');
    const [idToken, accessToken] = await Promise.all([
      openid ? signIdToken(tokens, client, user, requestNonce ?? nonce, now) : undefined,
      signAccessToken(tokens, client, user, audience, scope.join(' '), now),
    ]);
    logEvent(config.logger, 'login', { phone: phone.e164, clientId: client.clientId, grant: 'token' });
    // RFC 6749 section 5.1: no cache may keep tokens.
    res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    sendJson(res, 200, {
      access_token: accessToken,
      ...(idToken === undefined ? {} : { id_token: idToken }),
      ...(scope.join(' ') !== requested.join(' ') ? { scope: scope.join(' ') } : {}),
      expires_in: tokens.accessTtl,
      token_type: 'Bearer',
    });
  };
}
