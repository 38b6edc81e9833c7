import assert from 'node:assert/strict';
import request from 'supertest';
import type { Connection } from 'auth0';
import { fromAuth0Connection, PasswordlessError, type Auth0Connection } from '../../lib';
import { ACCOUNT_SID, AUTH_TOKEN, SERVICE_SID, useTwilioEmulator, type TwilioEmulator } from '../helpers/twilio-emulator';
import { startSmsGateway, type SmsGateway } from '../helpers/sms-gateway';
import { CLIENT, PHONE, makeApp, startBody, verifyBody } from '../helpers/app';

const OLD_APP = { clientId: 'app-retired', name: 'Retired App' };

/** A connection as GET /api/v2/connections returns it with Auth0's documented defaults (typed by the auth0 SDK). */
function documentedDefaults(): Connection {
  return {
    id: 'con_UX85K7K0N86INi9U',
    name: 'sms',
    display_name: 'sms',
    strategy: 'sms',
    realms: ['sms'],
    is_domain_connection: false,
    show_as_button: false,
    metadata: {},
    enabled_clients: [CLIENT.clientId],
    options: {
      disable_signup: false,
      name: 'sms',
      twilio_sid: ACCOUNT_SID,
      twilio_token: AUTH_TOKEN,
      from: '+15555555555',
      syntax: 'md_with_macros',
      template: 'Your SMS verification code is: @@password@@',
      totp: { time_step: 300, length: 6 },
      messaging_service_sid: null,
      brute_force_protection: true,
    },
  };
}

const GATEWAY_SECRET = 'shhhh-this-is-the-gateway-secret-0123';

function gatewayConnection(url: string, auth: Record<string, unknown>): Auth0Connection {
  return {
    name: 'sms',
    strategy: 'sms',
    enabled_clients: [CLIENT.clientId],
    options: {
      strategy: 'sms',
      provider: 'sms_gateway',
      gateway_url: url,
      gateway_authentication: { method: 'bearer', subject: 'urn:Auth0', audience: 'urn:MySmsGateway', secret: GATEWAY_SECRET, ...auth },
      from: 'Auth0',
      forward_req_info: true,
      template: 'Your verification code is: @@password@@',
      brute_force_protection: true,
      disable_signup: false,
      syntax: 'md_with_macros',
      totp: { time_step: 300, length: 4 },
    },
  };
}

describe('fromAuth0Connection', () => {
  const emulatorOf = useTwilioEmulator();
  let emulator: TwilioEmulator;
  beforeEach(() => {
    emulator = emulatorOf();
  });

  function migrated(connection: Auth0Connection = documentedDefaults()) {
    const settings = fromAuth0Connection(connection, {
      clients: [CLIENT, OLD_APP],
      twilio: { httpClient: emulator.httpClient() },
    });
    return { enabledClients: settings.enabledClients, ...makeApp({ ...settings }) };
  }

  describe("a Twilio connection with Auth0's documented defaults, end to end against the Twilio emulator", () => {
    it('sends "Your SMS verification code is: <6 digits>" from the connection\'s number with its credentials', async () => {
      const { app } = migrated();
      const before = emulator.received.length;
      await request(app).post('/passwordless/start').send(startBody()).expect(200);
      const sent = emulator.received[before];
      assert.equal(sent?.username, ACCOUNT_SID);
      assert.equal(sent?.form.From, '+15555555555');
      assert.equal(sent?.form.To, PHONE);
      assert.match(sent?.form.Body ?? '', /^Your SMS verification code is: \d{6}$/);
    });

    it("keeps a code for the connection's 300 s: it works at 299 s and not at 301 s", async () => {
      const codeOf = () => /\d{6}$/.exec(emulator.received.at(-1)?.form.Body ?? '')?.[0] ?? '';
      const a = migrated();
      await request(a.app).post('/passwordless/start').send(startBody()).expect(200);
      a.clock.advance(299_000);
      await request(a.app).post('/passwordless/verify').send(verifyBody(codeOf())).expect(200);
      const b = migrated();
      await request(b.app).post('/passwordless/start').send(startBody()).expect(200);
      b.clock.advance(301_000);
      await request(b.app).post('/passwordless/verify').send(verifyBody(codeOf())).expect(403);
    });

    it('enables only the clients in enabled_clients: the others are refused with bad.connection', async () => {
      const { app, enabledClients } = migrated();
      assert.deepEqual(enabledClients, [CLIENT.clientId]);
      const res = await request(app)
        .post('/passwordless/start')
        .send(startBody({ client_id: OLD_APP.clientId }));
      assert.equal(res.status, 400);
      assert.deepEqual(res.body, { error: 'bad.connection', error_description: 'Connection is disabled' });
    });
  });

  it('spreads whole into passwordless() next to your own clients: those Auth0 did not enable answer "Connection is disabled"', async () => {
    const { app } = makeApp({
      clients: [CLIENT, OLD_APP],
      ...fromAuth0Connection(documentedDefaults(), { twilio: { httpClient: emulator.httpClient() } }),
    });
    await request(app).post('/passwordless/start').send(startBody()).expect(200);
    const res = await request(app)
      .post('/passwordless/start')
      .send(startBody({ client_id: OLD_APP.clientId }));
    assert.deepEqual([res.status, res.body], [400, { error: 'bad.connection', error_description: 'Connection is disabled' }]);
  });

  it('enables every client when the connection does not list enabled_clients', async () => {
    const settings = fromAuth0Connection(
      { ...documentedDefaults(), enabled_clients: undefined },
      { twilio: { httpClient: emulator.httpClient() } },
    );
    assert.equal('enabledClients' in settings, false);
    const { app } = makeApp({ clients: [CLIENT, OLD_APP], ...settings });
    await request(app)
      .post('/passwordless/start')
      .send(startBody({ client_id: OLD_APP.clientId }))
      .expect(200);
  });

  it('sends through the Messaging Service when messaging_service_sid is set', async () => {
    const connection = documentedDefaults();
    connection.options.messaging_service_sid = SERVICE_SID;
    const { app } = migrated(connection);
    await request(app).post('/passwordless/start').send(startBody()).expect(200);
    assert.equal(emulator.received.at(-1)?.form.MessagingServiceSid, SERVICE_SID);
    assert.equal(emulator.received.at(-1)?.form.From, undefined);
  });

  it("maps the connection's name, liquid template, code length, and disable_signup", () => {
    const connection = documentedDefaults();
    Object.assign(connection, { name: 'sms-eu' });
    Object.assign(connection.options, {
      syntax: 'liquid',
      template: 'Code {{ code }} for {{ application.name }}',
      totp: { time_step: 120, length: 8 },
      disable_signup: true,
    });
    const settings = fromAuth0Connection(connection, { twilio: { httpClient: emulator.httpClient() } });
    assert.equal(settings.connection, 'sms-eu');
    assert.equal(settings.templateSyntax, 'liquid');
    assert.equal(settings.template, 'Code {{ code }} for {{ application.name }}');
    assert.deepEqual(settings.otp, { length: 8, ttlSeconds: 120 });
    assert.equal(settings.disableSignup, true);
    assert.equal(settings.sender.name, 'twilio');
    assert.equal('clients' in settings, false, 'no clients without extras.clients');
  });

  it("falls back to Auth0's default message and this package's 6 digits / 180 s when the connection has neither", () => {
    const connection = documentedDefaults();
    delete connection.options.template;
    delete connection.options.syntax;
    delete connection.options.totp;
    const settings = fromAuth0Connection(connection);
    assert.equal(settings.template, 'Your SMS verification code is: @@password@@');
    assert.equal(settings.templateSyntax, 'md_with_macros');
    assert.deepEqual(settings.otp, { length: 6, ttlSeconds: 180 });
  });

  describe('an sms_gateway connection', () => {
    let gateway: SmsGateway;
    let base64Gateway: SmsGateway;
    const keyBytes = new Uint8Array(Array.from({ length: 32 }, (_, i) => (i * 37 + 251) % 256));
    before(async () => {
      gateway = await startSmsGateway({
        key: new TextEncoder().encode(GATEWAY_SECRET),
        audience: 'urn:MySmsGateway',
        subject: 'urn:Auth0',
      });
      base64Gateway = await startSmsGateway({ key: keyBytes, audience: 'urn:MySmsGateway', subject: 'urn:Auth0' });
    });
    after(async () => {
      await gateway.close();
      await base64Gateway.close();
    });

    it('sends a start request through the gateway with a valid JWT, sender and request info', async () => {
      const { app } = migrated(gatewayConnection(gateway.url, {}));
      await request(app).post('/passwordless/start').set('user-agent', 'Migrated/1.0').send(startBody()).expect(200);
      const got = gateway.received.at(-1);
      assert.ok(got, `the gateway refused: ${gateway.refused.join(', ')}`);
      assert.equal(got.claims?.aud, 'urn:MySmsGateway');
      assert.equal(got.claims?.sub, 'urn:Auth0');
      assert.equal(got.body.recipient, PHONE);
      assert.equal(got.body.sender, 'Auth0');
      assert.match(String(got.body.body), /^Your verification code is: \d{4}$/);
      assert.equal((got.body.req as Record<string, string>)['user-agent'], 'Migrated/1.0');
    });

    it('reads the flags as Auth0\'s gateway guide writes them, as strings ("true", "false")', async () => {
      const as = (flag: string) => {
        const c = gatewayConnection(gateway.url, {});
        return migrated({ ...c, options: { ...c.options, forward_req_info: flag as 'true' | 'false' } }).app;
      };
      await request(as('true')).post('/passwordless/start').set('user-agent', 'Migrated/2.0').send(startBody()).expect(200);
      assert.equal((gateway.received.at(-1)?.body.req as Record<string, string> | undefined)?.['user-agent'], 'Migrated/2.0');
      await request(as('false')).post('/passwordless/start').set('user-agent', 'Migrated/3.0').send(startBody()).expect(200);
      assert.equal(gateway.received.at(-1)?.body.req, undefined);
      assert.throws(() => as('yes'), /`connection\.options\.forward_req_info` must be true or false \(got "yes"\)/);
      // The other flags the same way: "false" still refuses brute-force protection off, "true" turns sign-ups off.
      const c = gatewayConnection(gateway.url, {});
      const withFlag = (flag: Record<string, string>) => fromAuth0Connection({ ...c, options: { ...c.options, ...flag } });
      assert.throws(() => withFlag({ brute_force_protection: 'false' }), /`connection\.options\.brute_force_protection` is false/);
      assert.equal(withFlag({ disable_signup: 'true' }).disableSignup, true);
      assert.equal(withFlag({ disable_signup: 'false' }).disableSignup, false);
    });

    it('decodes the secret when secret_base64_encoded is true', async () => {
      const { app } = migrated(
        gatewayConnection(base64Gateway.url, { secret: Buffer.from(keyBytes).toString('base64'), secret_base64_encoded: true }),
      );
      await request(app).post('/passwordless/start').send(startBody()).expect(200);
      assert.equal(base64Gateway.received.length, 1, `refused: ${base64Gateway.refused.join(', ')}`);
    });
  });

  it("takes the auth0 SDK's connections.get answer ({ data, headers, status }) as the connection it carries", () => {
    const extras = { clients: [CLIENT, OLD_APP], twilio: { httpClient: emulator.httpClient() } };
    const direct = fromAuth0Connection(documentedDefaults(), extras);
    const fromSdk = fromAuth0Connection({ data: documentedDefaults(), headers: {}, status: 200 } as never, extras);
    assert.deepEqual(
      { ...fromSdk, sender: undefined, clients: fromSdk.clients?.map((c) => c.clientId) },
      { ...direct, sender: undefined, clients: direct.clients?.map((c) => c.clientId) },
    );
    assert.equal(fromSdk.connection, 'sms');
  });

  describe('refuses what cannot be carried over, naming the field', () => {
    const withOptions = (patch: Record<string, unknown>): Auth0Connection => {
      const c = documentedDefaults();
      Object.assign(c.options, patch);
      return c;
    };
    const cases: Array<[string, () => Auth0Connection, RegExp, Parameters<typeof fromAuth0Connection>[1]?]> = [
      [
        'an email connection',
        () => ({ ...documentedDefaults(), strategy: 'email' }),
        /`connection\.strategy` is "email": only passwordless SMS connections/,
      ],
      ['an unknown provider', () => withOptions({ provider: 'vonage' }), /`connection\.options\.provider` is "vonage".*write a sender/],
      [
        'a code length of 12',
        () => withOptions({ totp: { time_step: 300, length: 12 } }),
        /`connection\.options\.totp\.length` is 12.*4 to 10/,
      ],
      ['a code length of 3', () => withOptions({ totp: { time_step: 300, length: 3 } }), /`connection\.options\.totp\.length` is 3/],
      [
        'an expiry of 20 s',
        () => withOptions({ totp: { time_step: 20, length: 6 } }),
        /`connection\.options\.totp\.time_step` is 20.*30 to 600/,
      ],
      ['an expiry of 900 s', () => withOptions({ totp: { time_step: 900, length: 6 } }), /`connection\.options\.totp\.time_step` is 900/],
      [
        'brute_force_protection: false',
        () => withOptions({ brute_force_protection: false }),
        /`connection\.options\.brute_force_protection` is false, but this package always limits wrong codes/,
      ],
      [
        'a missing twilio_sid',
        () => withOptions({ twilio_sid: undefined }),
        /`connection\.options\.twilio_sid` is missing: copy the Account SID/,
      ],
      ['a missing twilio_token', () => withOptions({ twilio_token: null }), /`connection\.options\.twilio_token` is missing/],
      [
        'a malformed twilio_sid',
        () => withOptions({ twilio_sid: 'AC123' }),
        /`connection\.options\.twilio_sid` must be "AC" followed by 32 hex/,
      ],
      [
        'no from and no messaging_service_sid',
        () => withOptions({ from: null, messaging_service_sid: null }),
        /`connection\.options\.from` and `connection\.options\.messaging_service_sid` are both empty/,
      ],
      ['an unknown syntax', () => withOptions({ syntax: 'handlebars' }), /`connection\.options\.syntax` is "handlebars"/],
      ['a gateway connection without gateway_url', () => gatewayConnection('', {}), /`connection\.options\.gateway_url` is missing/],
      [
        'a gateway_authentication without secret',
        () => gatewayConnection('http://127.0.0.1:1/sms', { secret: undefined }),
        /`connection\.options\.gateway_authentication\.secret` must be a non-empty string/,
      ],
      [
        'a gateway_authentication method other than bearer',
        () => gatewayConnection('http://127.0.0.1:1/sms', { method: 'basic' }),
        /`connection\.options\.gateway_authentication\.method` must be 'bearer'/,
      ],
      [
        'extras.clients without enabled_clients',
        () => ({ ...documentedDefaults(), enabled_clients: undefined }),
        /`connection\.enabled_clients` is missing.*\/clients/,
        { clients: [CLIENT] },
      ],
      ['an unknown extras key', () => documentedDefaults(), /`extras\.gateway` is not an option/, { gateway: {} } as never],
    ];
    for (const [label, make, text, extras] of cases) {
      it(`refuses ${label}`, () => {
        assert.throws(
          () => fromAuth0Connection(make(), extras),
          (err: unknown) => err instanceof PasswordlessError && err.code === 'invalid_option' && text.test(err.message),
        );
      });
    }

    it('never quotes a Twilio token or gateway secret in its errors', () => {
      const token = 'tok-very-secret-value';
      for (const connection of [
        withOptions({ twilio_token: token, twilio_sid: 'bad' }),
        gatewayConnection('not a url', { secret: token }),
      ]) {
        assert.throws(
          () => fromAuth0Connection(connection),
          (err: unknown) => err instanceof PasswordlessError && !err.message.includes(token),
        );
      }
    });
  });
});
