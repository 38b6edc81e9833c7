/**
 * Auth0 wire compatibility: the official `auth0` SDK (v4) drives /passwordless/start and
 * the passwordless OTP token grant, and validates the ID token itself.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { AuthenticationClient } from 'auth0';
import { SignJWT, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import request from 'supertest';
import { PasswordlessError, memoryStore, passwordless, outboxSender, sessionStore, type PasswordlessOptions } from '../../lib';
import { CLIENT, CONFIDENTIAL, PHONE, SECRET, lastCode, makeApp, startBody, wrongCodeFor } from '../helpers/app';

const ISSUER = 'https://auth.example.com/';
const GRANT = 'http://auth0.com/oauth/grant-type/passwordless/otp';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPem = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const rsa2Pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const ecJwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const HS_CLIENT = { ...CONFIDENTIAL, idTokenSigningAlg: 'HS256' as const };
const RS_CLIENT = { clientId: 'mobile-rs', name: 'Mobile', idTokenSigningAlg: 'RS256' as const };
const ES_CLIENT = { clientId: 'mobile-es', name: 'Mobile EC', idTokenSigningAlg: 'ES256' as const };

function tokenApp(extra: Partial<PasswordlessOptions> = {}) {
  return makeApp({
    clients: [CLIENT, HS_CLIENT, RS_CLIENT, ES_CLIENT, { clientId: 'off', name: 'Off', enabled: false }],
    tokens: {
      issuer: ISSUER,
      signingKeys: [{ privateKey: rsaPem, kid: 'key-2026' }, { privateKey: rsa2Pem, kid: 'key-2025' }, { privateKey: ecJwk }],
      audiences: ['https://api.example.com/', { audience: 'https://billing.example.com/', scopes: ['read:invoices'] }],
    },
    ...extra,
  });
}

async function listen(app: import('express').Express): Promise<{ server: Server; base: string }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function codeFor(
  t: ReturnType<typeof tokenApp>,
  client: { clientId: string; secret?: string },
  body: Record<string, unknown> = {},
): Promise<string> {
  await request(t.app)
    .post('/passwordless/start')
    .send(startBody({ client_id: client.clientId, ...(client.secret ? { client_secret: client.secret } : {}), ...body }))
    .expect(200);
  return lastCode(t.outbox);
}

function grant(client: { clientId: string; secret?: string }, otp: string, extra: Record<string, unknown> = {}) {
  return {
    grant_type: GRANT,
    client_id: client.clientId,
    ...(client.secret ? { client_secret: client.secret } : {}),
    username: PHONE,
    otp,
    realm: 'sms',
    ...extra,
  };
}

/** The token grant for a fresh code of `client` (RS256 by default), expected to answer 200. */
async function granted(t: ReturnType<typeof tokenApp>, extra: Record<string, unknown> = {}, client = RS_CLIENT): Promise<request.Response> {
  return request(t.app)
    .post('/oauth/token')
    .send(grant(client, await codeFor(t, client), extra))
    .expect(200);
}

describe('Auth0 compatibility: the official auth0 SDK as the client', function () {
  this.timeout(20_000);
  const t = tokenApp({ now: Date.now });
  let server: Server;
  let base: string;
  before(async () => ({ server, base } = await listen(t.app)));
  after(() => server.close());

  it('sendSMS with x-request-language, then loginWithSMS with an HS256 ID token the SDK validates', async () => {
    const auth = new AuthenticationClient({
      domain: 'auth.example.com',
      clientId: HS_CLIENT.clientId,
      clientSecret: HS_CLIENT.secret,
      idTokenSigningAlg: 'HS256',
      fetch: (url: RequestInfo | URL, init?: RequestInit) => fetch(String(url).replace('https://auth.example.com', base), init),
    });
    await auth.passwordless.sendSMS({ phone_number: PHONE }, async ({ init }) => ({
      headers: { ...(init.headers as Record<string, string>), 'x-request-language': 'fr-FR' },
    }));
    assert.equal(t.outbox.last()?.language, 'fr-FR');
    const code = lastCode(t.outbox);
    const { data } = await auth.passwordless.loginWithSMS({ phone_number: PHONE, code });
    assert.equal(data.token_type, 'Bearer');
    assert.equal(data.expires_in, 86_400);
    const claims = decodeJwt(data.id_token as string);
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.aud, HS_CLIENT.clientId);
    assert.match(String(claims.sub), /^sms\|[0-9a-f]{24}$/);
    assert.equal(claims.phone_number, PHONE);
    assert.equal(claims.phone_number_verified, true);
    assert.equal((claims.exp as number) - (claims.iat as number), 36_000);
    // The code was consumed exactly as /passwordless/verify consumes it.
    await assert.rejects(auth.passwordless.loginWithSMS({ phone_number: PHONE, code }), /Wrong phone number or verification code/);
  });

  it('issues RS256 ID tokens that verify against /.well-known/jwks.json with jose.createRemoteJWKSet', async () => {
    const code = await codeFor(t, RS_CLIENT);
    const res = await request(t.app).post('/oauth/token').type('form').send(grant(RS_CLIENT, code)).expect(200);
    assert.equal(res.headers['cache-control'], 'no-store');
    const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(res.body.id_token, jwks, { issuer: ISSUER, audience: RS_CLIENT.clientId });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(protectedHeader.kid, 'key-2026', 'the first key signs');
    assert.equal(payload.phone_number, PHONE);
  });

  it('issues ES256 ID tokens for a client that asks for them', async () => {
    const code = await codeFor(t, ES_CLIENT);
    const res = await request(t.app).post('/oauth/token').send(grant(ES_CLIENT, code)).expect(200);
    const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`));
    const { protectedHeader } = await jwtVerify(res.body.id_token, jwks, { issuer: ISSUER, audience: ES_CLIENT.clientId });
    assert.equal(protectedHeader.alg, 'ES256');
  });
});

describe('POST /oauth/token', () => {
  it("refuses another site's page before counting its wrong codes (it could spend its visitor's address), admits listed origins and clients without Origin", async () => {
    const t = tokenApp({ rateLimits: { failedVerifiesPerIpPerHour: 2 } });
    const code = await codeFor(t, RS_CLIENT);
    // A form a foreign page posts from the victim's browser: no preflight, the answer unread.
    for (const foreign of [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }, { origin: 'null' }]) {
      for (let i = 0; i < 3; i++) {
        const res = await request(t.app)
          .post('/oauth/token')
          .set(foreign)
          .type('form')
          .send(grant(RS_CLIENT, wrongCodeFor(code)));
        assert.equal(res.status, 403);
        assert.equal(res.body.error, 'invalid_request');
      }
    }
    // Nothing was counted against the address: its own login still works.
    await request(t.app).post('/oauth/token').send(grant(RS_CLIENT, code)).expect(200);
    const listed = tokenApp({ allowedOrigins: ['https://spa.example'] });
    await request(listed.app)
      .post('/oauth/token')
      .set('origin', 'https://spa.example')
      .send(grant(RS_CLIENT, await codeFor(listed, RS_CLIENT)))
      .expect(200);
    const open = tokenApp({ allowCrossSite: true });
    await request(open.app)
      .post('/oauth/token')
      .set('origin', 'https://elsewhere.example')
      .send(grant(RS_CLIENT, await codeFor(open, RS_CLIENT)))
      .expect(200);
  });

  it('logs a login by the token grant as the session routes do (masked number, client, grant)', async () => {
    const infos: Array<Record<string, unknown>> = [];
    const t = tokenApp({ logger: { info: (e) => void infos.push(e), warn: () => {}, error: () => {} } });
    await granted(t);
    const logins = infos.filter((e) => e.event === 'login');
    assert.deepEqual(logins, [{ event: 'login', phone: '+1********23', clientId: RS_CLIENT.clientId, grant: 'token' }]);
  });

  it('publishes every key (rotation) and the OpenID configuration', async () => {
    const t = tokenApp();
    const jwks = await request(t.app).get('/.well-known/jwks.json').expect(200);
    assert.deepEqual(jwks.body.keys.map((k: { kid: string }) => k.kid).slice(0, 2), ['key-2026', 'key-2025']);
    assert.equal(jwks.body.keys.length, 3);
    for (const key of jwks.body.keys) assert.equal(key.d, undefined, 'no private part is published');
    const config = await request(t.app).get('/.well-known/openid-configuration').expect(200);
    assert.equal(config.body.issuer, ISSUER);
    assert.equal(config.body.token_endpoint, `${ISSUER}oauth/token`);
    assert.deepEqual(config.body.grant_types_supported, [GRANT]);
  });

  it('authenticates a confidential client by HTTP Basic (client_secret_basic), one method per request', async () => {
    const t = tokenApp();
    const basic = (id: string, secret: string) =>
      `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
    const { client_secret: _secret, client_id: _id, ...withoutCredentials } = grant(HS_CLIENT, await codeFor(t, HS_CLIENT));
    const ok = await request(t.app)
      .post('/oauth/token')
      .set('authorization', basic(HS_CLIENT.clientId, HS_CLIENT.secret))
      .send(withoutCredentials);
    assert.equal(ok.status, 200, ok.text);
    assert.ok(ok.body.id_token);
    const otp = await codeFor(t, HS_CLIENT);
    const cases: Array<[string, Record<string, unknown>, number, string, RegExp]> = [
      ['a wrong secret', {}, 403, 'unauthorized_client', /^Basic /],
      ['the secret in the body too', { client_secret: HS_CLIENT.secret }, 400, 'invalid_request', /not both/],
      [
        'another client_id in the body',
        { client_id: RS_CLIENT.clientId },
        400,
        'invalid_request',
        /not the one in the Authorization header/,
      ],
    ];
    for (const [label, extra, status, error, text] of cases) {
      const header =
        label === 'a wrong secret'
          ? basic(HS_CLIENT.clientId, 'not-the-secret-of-this-client-0123456789')
          : basic(HS_CLIENT.clientId, HS_CLIENT.secret);
      const res = await request(t.app)
        .post('/oauth/token')
        .set('authorization', header)
        .send({ ...grant(RS_CLIENT, otp, extra), client_id: undefined, ...extra });
      assert.equal(res.status, status, `${label}: ${res.text}`);
      assert.equal(res.body.error, error, label);
      if (status === 400) assert.match(res.body.error_description, text, label);
    }
    for (const header of [
      'Basic',
      'Basic !!!',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      `Basic ${Buffer.from(':no-id').toString('base64')}`,
    ]) {
      const res = await request(t.app).post('/oauth/token').set('authorization', header).send(withoutCredentials);
      assert.equal(res.status, 400, header);
      assert.match(res.body.error_description, /Basic credentials could not be read/, header);
    }
    const discovery = await request(t.app).get('/.well-known/openid-configuration');
    assert.ok(discovery.body.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
  });

  it('takes Basic credentials sent as they are (curl -u, axios auth) as well as form-encoded: a secret of openssl rand -base64 holds + and /', async () => {
    const PLUS = {
      clientId: 'backend-plus',
      name: 'Backend+',
      secret: 'q+Zr/8x%2Bk1+vN0mYw7Pb+3fL9s/Qe1dA=',
      idTokenSigningAlg: 'HS256' as const,
    };
    const t = tokenApp({ clients: [CLIENT, RS_CLIENT, PLUS] });
    const header = (id: string, secret: string) => `Basic  ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
    for (const [label, id, secret] of [
      ['as it is', PLUS.clientId, PLUS.secret],
      ['form-encoded (RFC 6749)', encodeURIComponent(PLUS.clientId), encodeURIComponent(PLUS.secret)],
    ] as const) {
      const { client_secret: _s, client_id: _i, ...body } = grant(PLUS, await codeFor(t, PLUS));
      const res = await request(t.app).post('/oauth/token').set('authorization', header(id, secret)).send(body);
      assert.equal(res.status, 200, `${label}: ${res.text}`);
    }
    // The form-decoded reading of the secret as sent (+ as a space) is not the secret.
    const { client_secret: _s, client_id: _i, ...body } = grant(PLUS, await codeFor(t, PLUS));
    const wrong = await request(t.app)
      .post('/oauth/token')
      .set('authorization', header(PLUS.clientId, PLUS.secret.replace(/\+/g, ' ')))
      .send(body);
    assert.equal(wrong.status, 403);
  });

  it('issues a JWT access token for a configured audience with the scopes it lists, and says when the scope differs', async () => {
    const t = tokenApp();
    const code = await codeFor(t, RS_CLIENT);
    const res = await request(t.app)
      .post('/oauth/token')
      .send(grant(RS_CLIENT, code, { audience: 'https://billing.example.com/', scope: 'openid read:invoices delete:everything' }))
      .expect(200);
    assert.equal(res.body.scope, 'openid read:invoices');
    const access = decodeJwt(res.body.access_token);
    assert.deepEqual(access.aud, ['https://billing.example.com/', `${ISSUER}userinfo`]);
    assert.equal(access.scope, 'openid read:invoices');
    assert.equal(decodeProtectedHeader(res.body.access_token).kid, 'key-2026');
    const code2 = await codeFor(t, RS_CLIENT);
    const same = await request(t.app)
      .post('/oauth/token')
      .send(grant(RS_CLIENT, code2, { audience: 'https://billing.example.com/', scope: 'openid read:invoices' }))
      .expect(200);
    assert.equal(same.body.scope, undefined, 'no scope field when granted as asked');
  });

  it("keeps a client whose grantTypes leave out the OTP grant off /oauth/token, with Auth0's text; its session login still works", async () => {
    const web = { clientId: 'web-only', name: 'Web', grantTypes: ['authorization_code', 'implicit'] };
    const app = { clientId: 'app', name: 'App', grantTypes: [GRANT] };
    const t = tokenApp({ clients: [web, app] });
    const refused = await request(t.app)
      .post('/oauth/token')
      .send(grant(web, await codeFor(t, web)));
    assert.equal(refused.status, 403);
    assert.deepEqual(refused.body, {
      error: 'unauthorized_client',
      error_description: `Grant type '${GRANT}' not allowed for the client.`,
    });
    await request(t.app)
      .post('/oauth/token')
      .send(grant(app, await codeFor(t, app, { phone_number: '+14155550100' }), { username: '+14155550100' }))
      .expect(200);
    await request(t.app)
      .post('/passwordless/verify')
      .send({ client_id: web.clientId, connection: 'sms', phone_number: PHONE, verification_code: await codeFor(t, web) })
      .expect(200);
    assert.throws(
      () => tokenApp({ clients: [{ ...web, grantTypes: GRANT as unknown as string[] }] }),
      /`clients\[0\]\.grantTypes` must be an array of grant types/,
    );
  });

  it('grants an audience without a scopes list only the OpenID scopes: a user cannot give itself an API permission', async () => {
    const t = tokenApp();
    const code = await codeFor(t, RS_CLIENT);
    const res = await request(t.app)
      .post('/oauth/token')
      .send(grant(RS_CLIENT, code, { audience: 'https://api.example.com/', scope: 'openid phone delete:users admin:all' }))
      .expect(200);
    assert.equal(res.body.scope, 'openid phone');
    assert.equal(decodeJwt(res.body.access_token).scope, 'openid phone');
  });

  it("takes the /userinfo audience asked for by name as no audience: Auth0's SDKs and older auth0.js send it", async () => {
    const t = tokenApp();
    const res = await granted(t, { audience: `${ISSUER}userinfo`, scope: 'openid phone' });
    const claims = decodeJwt(res.body.access_token);
    assert.equal(claims.aud, `${ISSUER}userinfo`);
    assert.equal(claims.scope, 'openid phone');
    await request(t.app).get('/userinfo').set('authorization', `Bearer ${res.body.access_token}`).expect(200);
  });

  it('serves /userinfo for its access tokens', async () => {
    const t = tokenApp();
    const code = await codeFor(t, RS_CLIENT);
    const res = await request(t.app).post('/oauth/token').send(grant(RS_CLIENT, code)).expect(200);
    const info = await request(t.app).get('/userinfo').set('authorization', `Bearer ${res.body.access_token}`).expect(200);
    assert.equal(info.body.phone_number, PHONE);
    await request(t.app).get('/userinfo').set('authorization', 'Bearer nope').expect(401);
  });

  it('keeps /userinfo tokens signed without signingKeys valid across a rotation of secret, and refuses those of a retired one', async () => {
    const NEXT = `${SECRET}-next`;
    const hs = (secret: string | string[]) => makeApp({ secret, userIdSecret: SECRET, clients: [HS_CLIENT], tokens: { issuer: ISSUER } });
    const before = hs(SECRET);
    const code = await codeFor(before, HS_CLIENT);
    const { access_token } = (await request(before.app).post('/oauth/token').send(grant(HS_CLIENT, code)).expect(200)).body;
    const userinfo = (t: ReturnType<typeof hs>) => request(t.app).get('/userinfo').set('authorization', `Bearer ${access_token}`);
    assert.equal((await userinfo(hs([NEXT, SECRET])).expect(200)).body.phone_number, PHONE);
    await userinfo(hs(NEXT)).expect(401);
    // A token of the new secret, during the rotation, verifies under its first key.
    const during = hs([NEXT, SECRET]);
    const fresh = (
      await request(during.app)
        .post('/oauth/token')
        .send(grant(HS_CLIENT, await codeFor(during, HS_CLIENT)))
        .expect(200)
    ).body;
    await request(during.app).get('/userinfo').set('authorization', `Bearer ${fresh.access_token}`).expect(200);
  });

  it('serves /userinfo only for its own access tokens: signed by a key of its own named by kid, typed at+jwt, for its userinfo audience', async () => {
    const t = tokenApp();
    const key = createPrivateKey(rsaPem);
    const forged = async (header: Record<string, unknown>, audience: string | string[]) =>
      new SignJWT({ phone_number: PHONE, azp: RS_CLIENT.clientId, scope: 'openid' })
        .setProtectedHeader({ alg: 'RS256', ...header })
        .setIssuer(ISSUER)
        .setSubject('sms|forged')
        .setAudience(audience)
        .setIssuedAt(Math.floor(t.clock.now() / 1000))
        .setExpirationTime(Math.floor(t.clock.now() / 1000) + 3600)
        .sign(key);
    const userinfo = async (token: string) => (await request(t.app).get('/userinfo').set('authorization', `Bearer ${token}`)).status;
    const USERINFO = `${ISSUER}userinfo`;
    assert.equal(
      await userinfo(await forged({ kid: 'key-2026', typ: 'at+jwt' }, USERINFO)),
      200,
      'the control: a token as the server makes them',
    );
    assert.equal(await userinfo(await forged({ kid: 'key-2026', typ: 'at+jwt' }, 'https://api.example.com/')), 401, 'another audience');
    assert.equal(await userinfo(await forged({ kid: 'key-2026', typ: 'JWT' }, USERINFO)), 401, 'an ID token');
    assert.equal(await userinfo(await forged({ typ: 'at+jwt' }, USERINFO)), 401, 'no kid');
  });

  it('answers /userinfo as OpenID Connect and RFC 6750 ask: GET or POST, any case of Bearer, no-store, a bare challenge without credentials', async () => {
    const t = tokenApp();
    const res = await granted(t);
    assert.equal(res.headers.pragma, 'no-cache');
    assert.equal(res.headers['cache-control'], 'no-store');
    const access = decodeJwt(res.body.access_token);
    assert.equal(access.client_id, RS_CLIENT.clientId, "RFC 9068's client_id");
    assert.match(String(access.jti), /^[0-9a-f]{24}$/);
    for (const [label, send] of [
      ['GET, Bearer', () => request(t.app).get('/userinfo').set('authorization', `Bearer ${res.body.access_token}`)],
      ['GET, bearer', () => request(t.app).get('/userinfo').set('authorization', `bearer ${res.body.access_token}`)],
      ['POST', () => request(t.app).post('/userinfo').set('authorization', `Bearer ${res.body.access_token}`)],
    ] as const) {
      const info = await send();
      assert.equal(info.status, 200, label);
      assert.equal(info.body.phone_number, PHONE, label);
      assert.equal(info.headers['cache-control'], 'no-store', label);
    }
    const none = await request(t.app).get('/userinfo').expect(401);
    assert.equal(none.headers['www-authenticate'], 'Bearer', 'no error code when no credentials were sent');
    const bad = await request(t.app).get('/userinfo').set('authorization', 'Bearer abc.def.ghi').expect(401);
    assert.equal(bad.headers['www-authenticate'], 'Bearer error="invalid_token"');
  });

  it('gives access tokens the lifetime expires_in says, and /userinfo refuses them once it has passed', async () => {
    const t = tokenApp();
    const res = await granted(t);
    const access = decodeJwt(res.body.access_token);
    assert.equal((access.exp as number) - (access.iat as number), res.body.expires_in);
    const userinfo = () => request(t.app).get('/userinfo').set('authorization', `Bearer ${res.body.access_token}`);
    t.clock.advance((res.body.expires_in - 60) * 1000);
    await userinfo().expect(200);
    t.clock.advance(120_000);
    await userinfo().expect(401);
  });

  it('issues no ID token, and no /userinfo access, to a request whose scope leaves out openid', async () => {
    const t = tokenApp();
    const res = await granted(t, { audience: 'https://billing.example.com/', scope: 'read:invoices' });
    assert.equal(res.body.id_token, undefined);
    const access = decodeJwt(res.body.access_token);
    assert.equal(access.aud, 'https://billing.example.com/');
    assert.equal(access.scope, 'read:invoices');
    // A token for the userinfo audience without openid (made as the server makes them) is refused 403.
    const bare = await granted(t, { scope: 'profile' });
    assert.equal(bare.body.id_token, undefined);
    const info = await request(t.app).get('/userinfo').set('authorization', `Bearer ${bare.body.access_token}`).expect(403);
    assert.equal(info.body.error, 'insufficient_scope');
    assert.match(info.headers['www-authenticate'] ?? '', /insufficient_scope/);
    // No scope at all is an OpenID request.
    const plain = await granted(t);
    assert.equal(decodeJwt(plain.body.id_token).aud, RS_CLIENT.clientId);
  });

  it('refuses at /userinfo the access tokens of a client removed or disabled since they were issued', async () => {
    const t = tokenApp();
    const res = await granted(t);
    const keys = { issuer: ISSUER, signingKeys: [{ privateKey: rsaPem, kid: 'key-2026' }] };
    const userinfo = (clients: PasswordlessOptions['clients']) =>
      request(makeApp({ clients, tokens: keys }).app)
        .get('/userinfo')
        .set('authorization', `Bearer ${res.body.access_token}`);
    await userinfo([CLIENT, RS_CLIENT]).expect(200);
    await userinfo([CLIENT]).expect(401);
    await userinfo([CLIENT, { ...RS_CLIENT, enabled: false }]).expect(401);
  });

  it('redeems a sessionStore code for the agent whose session started it, and warns at construction that others cannot', async () => {
    const warnings: Array<Record<string, unknown>> = [];
    const t = tokenApp({ store: sessionStore(), logger: { info: () => {}, warn: (e) => void warnings.push(e), error: () => {} } });
    assert.ok(warnings.some((w) => /`tokens` with sessionStore\(\)/.test(String(w.message))));
    const agent = request.agent(t.app);
    await agent
      .post('/passwordless/start')
      .send(startBody({ client_id: RS_CLIENT.clientId }))
      .expect(200);
    const code = lastCode(t.outbox);
    // Without the session's cookie the code is not found: the same answer as a wrong code.
    await request(t.app).post('/oauth/token').send(grant(RS_CLIENT, code)).expect(403);
    const res = await agent.post('/oauth/token').send(grant(RS_CLIENT, code)).expect(200);
    assert.equal(decodeJwt(res.body.id_token).phone_number, PHONE);
  });

  it('answers a token request without a form or JSON body 400 invalid_request, saying how to send it, on every Express version', async () => {
    const t = tokenApp();
    for (const send of [
      () => request(t.app).post('/oauth/token'),
      () => request(t.app).post('/oauth/token').set('content-type', 'text/plain').send('grant_type=x'),
    ]) {
      const res = await send().expect(400);
      assert.equal(res.body.error, 'invalid_request');
      assert.equal(res.body.error_description, 'Send the parameters as an urlencoded form or a JSON object.');
    }
  });

  it("answers a token request whose body cannot be read with OAuth's invalid_request, as Auth0's SDKs read it", async () => {
    const t = tokenApp();
    const json = (body: string) => () => request(t.app).post('/oauth/token').set('content-type', 'application/json').send(body);
    const cases: Array<[() => request.Test, number, string]> = [
      [json('123'), 400, 'Send the parameters as an urlencoded form or a JSON object.'],
      [json('"otp"'), 400, 'Send the parameters as an urlencoded form or a JSON object.'],
      [json('null'), 400, 'Send the parameters as an urlencoded form or a JSON object.'],
      [json('{"grant_type":'), 400, 'The request body is not valid JSON.'],
      [json(JSON.stringify({ grant_type: 'x'.repeat(20_000) })), 413, 'The request body is too large.'],
      [() => request(t.app).post('/oauth/token').type('form').send('__proto__[otp]=1'), 400, ''],
    ];
    for (const [send, status, text] of cases) {
      const res = await send();
      assert.equal(res.status, status, res.text);
      assert.equal(res.body.error, 'invalid_request', res.text);
      if (text) assert.equal(res.body.error_description, text);
    }
  });

  it('answers 401 to malformed /userinfo tokens of every shape, and logs no internal error for them', async () => {
    const errors: Array<Record<string, unknown>> = [];
    const t = tokenApp({ logger: { info: () => {}, warn: () => {}, error: (e) => void errors.push(e) } });
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const header of [null, 42, 'kid', [1], {}, { kid: {} }]) {
      await request(t.app)
        .get('/userinfo')
        .set('authorization', `Bearer ${part(header)}.${part({})}.x`)
        .expect(401);
    }
    assert.deepEqual(errors, []);
  });

  it('keeps no authParams.nonce with the code when no token can carry it (no tokens option)', async () => {
    const saved: Array<string | undefined> = [];
    const store = memoryStore();
    const save = store.save.bind(store);
    store.save = (key, record, ctx) => {
      saved.push(record.data);
      return save(key, record, ctx);
    };
    const plain = makeApp({ store });
    await request(plain.app)
      .post('/passwordless/start')
      .send(startBody({ authParams: { nonce: 'n-start' } }))
      .expect(200);
    const withTokens = tokenApp({ store });
    await codeFor(withTokens, RS_CLIENT, { authParams: { nonce: 'n-start' }, phone_number: '+14155550199' });
    assert.deepEqual(saved, [undefined, 'n-start']);
  });

  it('puts the nonce of authParams (start) or of the token request in the ID token', async () => {
    const t = tokenApp();
    const fromStart = await codeFor(t, RS_CLIENT, { authParams: { nonce: 'n-start' } });
    const a = await request(t.app).post('/oauth/token').send(grant(RS_CLIENT, fromStart)).expect(200);
    assert.equal(decodeJwt(a.body.id_token).nonce, 'n-start');
    const plain = await codeFor(t, RS_CLIENT);
    const b = await request(t.app)
      .post('/oauth/token')
      .send(grant(RS_CLIENT, plain, { nonce: 'n-token' }))
      .expect(200);
    assert.equal(decodeJwt(b.body.id_token).nonce, 'n-token');
  });

  describe("errors in Auth0's shapes", () => {
    const t = tokenApp({ otp: { maxAttempts: 2 } });
    const cases: Array<[string, Record<string, unknown>, number, string]> = [
      ['another grant', grant(RS_CLIENT, '1', { grant_type: 'password' }), 400, 'unsupported_grant_type'],
      ['no grant_type', grant(RS_CLIENT, '1', { grant_type: undefined }), 400, 'invalid_request'],
      ['no client_id', grant(RS_CLIENT, '1', { client_id: undefined }), 400, 'invalid_request'],
      ['no username', grant(RS_CLIENT, '1', { username: undefined }), 400, 'invalid_request'],
      ['no otp', grant(RS_CLIENT, '', {}), 400, 'invalid_request'],
      ['no realm', grant(RS_CLIENT, '1', { realm: undefined }), 400, 'invalid_request'],
      ['a realm that is not this connection', grant(RS_CLIENT, '1', { realm: 'email' }), 400, 'invalid_request'],
      ['a non-string parameter', grant(RS_CLIENT, '1', { otp: { a: '1' } }), 400, 'invalid_request'],
      ['a wrong client secret', grant({ ...HS_CLIENT, secret: 'wrong' }, '1'), 403, 'unauthorized_client'],
      ['a missing client secret', grant({ clientId: HS_CLIENT.clientId }, '1'), 403, 'unauthorized_client'],
      ['an unknown client', grant({ clientId: 'nope' }, '1'), 403, 'unauthorized_client'],
      ['a disabled client', grant({ clientId: 'off' }, '1'), 403, 'unauthorized_client'],
      ['an unknown audience', grant(RS_CLIENT, '1', { audience: 'https://unknown.example.com/' }), 403, 'access_denied'],
      ['a wrong code', grant(RS_CLIENT, '123456'), 403, 'invalid_grant'],
      ['an invalid phone number', grant(RS_CLIENT, '123456', { username: '12' }), 403, 'invalid_grant'],
    ];
    it('400 invalid_request for a JSON array body', async () => {
      const res = await request(t.app)
        .post('/oauth/token')
        .send([grant(RS_CLIENT, '1')]);
      assert.equal(res.status, 400, res.text);
      assert.deepEqual(res.body, {
        error: 'invalid_request',
        error_description: 'Send the parameters as an urlencoded form or a JSON object.',
      });
    });

    it('says when JSON came without its Content-Type (curl -d), as the session routes do', async () => {
      const res = await request(t.app)
        .post('/oauth/token')
        .set('content-type', 'application/x-www-form-urlencoded')
        .send(JSON.stringify(grant(RS_CLIENT, '1')));
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.error, 'invalid_request');
      assert.match(res.body.error_description, /JSON sent without `Content-Type: application\/json`/);
    });

    it('quotes a grant type, realm or audience of the request without markup', async () => {
      const markup = '<img src=x onerror="alert(1)">';
      for (const extra of [{ grant_type: markup }, { realm: markup }, { audience: markup }]) {
        const res = await request(t.app)
          .post('/oauth/token')
          .type('form')
          .send(grant(RS_CLIENT, '1', extra));
        assert.ok(res.status === 400 || res.status === 403, res.text);
        assert.match(res.body.error_description, /\?img src=x onerror=\?alert\(1\)\?\?/);
        assert.doesNotMatch(res.body.error_description, /[<>]|onerror="/);
      }
    });
    for (const [label, body, status, error] of cases) {
      it(`${status} ${error} for ${label}`, async () => {
        const res = await request(t.app).post('/oauth/token').type('form').send(body);
        assert.equal(res.status, status, res.text);
        assert.equal(res.body.error, error);
        assert.equal(typeof res.body.error_description, 'string');
        if (error === 'invalid_grant') assert.equal(res.body.error_description, 'Wrong phone number or verification code.');
      });
    }

    it("403 invalid_grant with Auth0's text once otp.maxAttempts wrong codes were entered, shared with /passwordless/verify", async () => {
      // An app of its own: the exhausted code must not change what the table's cases see.
      const t = tokenApp({ otp: { maxAttempts: 2 } });
      const code = await codeFor(t, RS_CLIENT);
      await request(t.app)
        .post('/passwordless/verify')
        .send({ client_id: RS_CLIENT.clientId, connection: 'sms', phone_number: PHONE, verification_code: wrongCodeFor(code) })
        .expect(403);
      const wrong = await request(t.app)
        .post('/oauth/token')
        .send(grant(RS_CLIENT, wrongCodeFor(code)));
      assert.equal(wrong.status, 403);
      assert.equal(wrong.body.error_description, 'Wrong phone number or verification code.');
      const res = await request(t.app).post('/oauth/token').send(grant(RS_CLIENT, code));
      assert.equal(res.status, 403);
      assert.deepEqual(res.body, {
        error: 'invalid_grant',
        error_description: "You've reached the maximum number of attempts. Please try to login again.",
      });
    });
  });
});

describe('user hooks', () => {
  it('merges what find returns into the session user and the ID token, but not reserved claims', async () => {
    const t = tokenApp({
      users: {
        find: async (phone) => ({
          user_id: 'db|42',
          name: 'Ada',
          'https://example.com/roles': ['admin'],
          phone_number: '+10000000000',
          iss: 'evil',
          phone,
        }),
      },
    });
    const code = await codeFor(t, RS_CLIENT);
    const res = await request(t.app).post('/oauth/token').send(grant(RS_CLIENT, code)).expect(200);
    const claims = decodeJwt(res.body.id_token);
    assert.equal(claims.sub, 'db|42');
    assert.equal(claims.name, 'Ada');
    assert.deepEqual(claims['https://example.com/roles'], ['admin']);
    assert.equal(claims.phone_number, PHONE);
    assert.equal(claims.iss, ISSUER);
    const code2 = await codeFor(t, CLIENT);
    const login = await request(t.app)
      .post('/passwordless/verify')
      .send({ client_id: CLIENT.clientId, connection: 'sms', phone_number: PHONE, verification_code: code2 })
      .expect(200);
    assert.equal(login.body.user.user_id, 'db|42');
    assert.equal(login.body.user.name, 'Ada');
    assert.equal(login.body.user.phone_number, PHONE);
  });

  it('calls create for a new number', async () => {
    const created: string[] = [];
    const t = makeApp({ users: { find: async () => null, create: async (phone) => (created.push(phone), { plan: 'free' }) } });
    await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
    const res = await request(t.app)
      .post('/passwordless/verify')
      .send({ client_id: CLIENT.clientId, connection: 'sms', phone_number: PHONE, verification_code: lastCode(t.outbox) })
      .expect(200);
    assert.deepEqual(created, [PHONE]);
    assert.equal(res.body.user.plan, 'free');
  });

  it('disableSignup: an unknown number gets the same start answer, no SMS, and the wrong-code answer', async () => {
    const t = makeApp({ disableSignup: true, users: { find: async (phone) => (phone === PHONE ? { name: 'Known' } : null) } });
    const known = await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
    const unknown = await request(t.app)
      .post('/passwordless/start')
      .send(startBody({ phone_number: '+14155550999' }))
      .expect(200);
    assert.deepEqual(Object.keys(unknown.body).sort(), Object.keys(known.body).sort());
    assert.equal(t.outbox.messages.length, 1);
    const res = await request(t.app)
      .post('/passwordless/verify')
      .send({ client_id: CLIENT.clientId, connection: 'sms', phone_number: '+14155550999', verification_code: '123456' });
    assert.equal(res.status, 403);
    assert.equal(res.body.error, 'invalid_grant');
  });
});

describe('tokens options validation', () => {
  const base = { secret: SECRET, sender: outboxSender(), clients: [RS_CLIENT] };
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an issuer without a trailing slash', { tokens: { issuer: 'https://auth.example.com' } }, /tokens\.issuer.*ending in "\/"/],
    ['RS256 without keys', { tokens: { issuer: ISSUER } }, /idTokenSigningAlg.*RS256.*no RS256 key/],
    [
      'HS256 without a client secret',
      { clients: [{ clientId: 'a', name: 'A', idTokenSigningAlg: 'HS256' }], tokens: { issuer: ISSUER } },
      /HS256.*client has none/,
    ],
    [
      'a key that is not a key',
      { tokens: { issuer: ISSUER, signingKeys: [{ privateKey: 'nope' }] } },
      /signingKeys\[0\]\.privateKey.*PEM or JWK/,
    ],
    ['an RSA key for ES256', { tokens: { issuer: ISSUER, signingKeys: [{ privateKey: rsaPem, alg: 'ES256' }] } }, /cannot sign ES256/],
    [
      "this server's own /userinfo as an audience",
      { clients: [RS_CLIENT], tokens: { issuer: ISSUER, signingKeys: [{ privateKey: rsaPem }], audiences: [`${ISSUER}userinfo`] } },
      /`tokens\.audiences\[0\]` is this server's own \/userinfo/,
    ],
    [
      'an audience that is a client id',
      { clients: [RS_CLIENT], tokens: { issuer: ISSUER, signingKeys: [{ privateKey: rsaPem }], audiences: [RS_CLIENT.clientId] } },
      /`tokens\.audiences` lists "mobile-rs", which is a client's id/,
    ],
    [
      'audiences without keys',
      { clients: [HS_CLIENT], tokens: { issuer: ISSUER, audiences: ['https://api/'] } },
      /signingKeys.*is needed for `tokens\.audiences`/,
    ],
    [
      'a short ID token lifetime',
      { tokens: { issuer: ISSUER, idTokenTtlSeconds: 1, signingKeys: [{ privateKey: rsaPem }] } },
      /idTokenTtlSeconds/,
    ],
    ['disableSignup without users.find', { disableSignup: true }, /disableSignup.*users\.find/],
  ];
  for (const [label, change, message] of cases) {
    it(`throws for ${label}`, () => {
      assert.throws(
        () => passwordless({ ...base, ...change } as PasswordlessOptions),
        (err: unknown) => err instanceof PasswordlessError && message.test(err.message),
      );
    });
  }
});
