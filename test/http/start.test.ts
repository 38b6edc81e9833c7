import assert from 'node:assert/strict';
import request from 'supertest';
import express from 'express';
import { PasswordlessError, passwordless, outboxSender, sessionStore, type SmsSender } from '../../lib';
import { CLIENT, CONFIDENTIAL, DISABLED, PHONE, lastCode, makeApp, startBody, verifyBody } from '../helpers/app';

function expectError(res: request.Response, status: number, error: string, description?: RegExp): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(String(res.headers['content-type']), /application\/json/);
  assert.equal(res.body.error, error);
  assert.equal(typeof res.body.error_description, 'string');
  if (description) assert.match(res.body.error_description, description);
}

describe('POST /passwordless/start', () => {
  it('sends a code and answers 200 with _id, the E.164 number and the request language', async () => {
    const { app, outbox } = makeApp();
    const res = await request(app)
      .post('/passwordless/start')
      .set('x-request-language', 'fr-FR')
      .send(startBody({ phone_number: '+1 (415) 555-0123' }));
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), ['_id', 'phone_number', 'request_language']);
    assert.match(res.body._id, /^[0-9a-f]{24}$/);
    assert.equal(res.body.phone_number, PHONE);
    assert.equal(res.body.request_language, 'fr-FR');
    assert.equal(outbox.messages.length, 1);
    assert.equal(outbox.last()?.to, PHONE);
    assert.match(outbox.last()?.body ?? '', /^Your verification code is: \d{6}$/);
  });

  it("sends the default message in the template syntax chosen, without a template (templateSyntax: 'md_with_macros')", async () => {
    const { app, outbox } = makeApp({ templateSyntax: 'md_with_macros' });
    await request(app).post('/passwordless/start').send(startBody()).expect(200);
    assert.match(outbox.last()?.body ?? '', /^Your verification code is: \d{6}$/);
  });

  it("answers a missing field or an unknown connection in Auth0's words, which migrated clients may match on", async () => {
    const { app } = makeApp({ logger: false });
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ client_id: undefined }, 'bad.client_id', 'Missing required property: client_id'],
      [{ connection: undefined }, 'bad.connection', 'Missing required property: connection'],
      [{ phone_number: undefined }, 'bad.phone_number', 'Missing required property: phone_number'],
      [{ connection: 'email' }, 'bad.connection', 'Connection does not exist'],
    ];
    for (const [patch, error, text] of cases) {
      const body = Object.fromEntries(Object.entries(startBody(patch)).filter(([, v]) => v !== undefined));
      const res = await request(app).post('/passwordless/start').send(body).expect(400);
      assert.deepEqual(res.body, { error, error_description: text });
    }
  });

  it('accepts urlencoded bodies and send=code', async () => {
    const { app } = makeApp();
    const res = await request(app)
      .post('/passwordless/start')
      .type('form')
      .send(startBody({ send: 'code' }));
    assert.equal(res.status, 200);
  });

  it('accepts authParams as an object', async () => {
    const { app } = makeApp();
    const res = await request(app)
      .post('/passwordless/start')
      .send(startBody({ authParams: { scope: 'openid', nonce: 'n1' } }));
    assert.equal(res.status, 200);
  });

  it('treats formatting variants as the same number (one pending code)', async () => {
    const { app, outbox } = makeApp();
    await request(app)
      .post('/passwordless/start')
      .send(startBody({ phone_number: '+1 (415) 555-0123' }))
      .expect(200);
    const first = lastCode(outbox);
    await request(app)
      .post('/passwordless/start')
      .send(startBody({ phone_number: '+14155550123' }))
      .expect(200);
    const second = lastCode(outbox);
    // The second start replaced the first: only the newest code logs in.
    if (first !== second) {
      await request(app).post('/passwordless/verify').send(verifyBody(first)).expect(403);
    }
    await request(app)
      .post('/passwordless/verify')
      .send(verifyBody(second, { phone_number: '+1.415.555.0123' }))
      .expect(200);
  });

  describe('errors of the contract table', () => {
    const { app } = makeApp();
    const post = (body: unknown) =>
      request(app)
        .post('/passwordless/start')
        .send(body as object);

    it('400 bad.client_id when client_id is missing', async () =>
      expectError(await post(startBody({ client_id: undefined })), 400, 'bad.client_id'));
    it('400 bad.client_id when client_id is unknown, quoting it (markup shown as ?)', async () => {
      expectError(await post(startBody({ client_id: 'nope' })), 400, 'bad.client_id', /Unknown client_id: "nope"/);
      expectError(await post(startBody({ client_id: '<b>x</b>' })), 400, 'bad.client_id', /Unknown client_id: "\?b\?x\?\/b\?"/);
    });
    it('400 bad.client_id when client_id is not a string', async () =>
      expectError(await post(startBody({ client_id: ['app-public'] })), 400, 'bad.client_id'));
    it('400 bad.connection when connection is missing', async () =>
      expectError(await post(startBody({ connection: undefined })), 400, 'bad.connection'));
    it('400 bad.connection when connection is another one', async () =>
      expectError(await post(startBody({ connection: 'email' })), 400, 'bad.connection'));
    it('400 bad.connection "Connection is disabled" for a disabled client', async () =>
      expectError(await post(startBody({ client_id: DISABLED.clientId })), 400, 'bad.connection', /^Connection is disabled$/));
    it('401 unauthorized_client for a confidential client without its secret', async () =>
      expectError(await post(startBody({ client_id: CONFIDENTIAL.clientId })), 401, 'unauthorized_client'));
    it('401 unauthorized_client for a confidential client with a wrong secret', async () =>
      expectError(await post(startBody({ client_id: CONFIDENTIAL.clientId, client_secret: 'wrong' })), 401, 'unauthorized_client'));
    it('200 for a confidential client with its secret', async () => {
      const res = await post(startBody({ client_id: CONFIDENTIAL.clientId, client_secret: CONFIDENTIAL.secret }));
      assert.equal(res.status, 200);
    });
    it('400 bad.phone_number when phone_number is missing', async () =>
      expectError(await post(startBody({ phone_number: undefined })), 400, 'bad.phone_number'));
    it('400 bad.phone_number for an invalid number', async () =>
      expectError(await post(startBody({ phone_number: '+1415' })), 400, 'bad.phone_number'));
    it('400 bad.phone_number for a number without country code', async () =>
      expectError(await post(startBody({ phone_number: '4155550123' })), 400, 'bad.phone_number'));
    it('400 bad.phone_number for a number inside text', async () =>
      expectError(await post(startBody({ phone_number: 'call +14155550123 now' })), 400, 'bad.phone_number'));
    it('400 bad.phone_number for a number that is not a string', async () =>
      expectError(await post(startBody({ phone_number: 14155550123 })), 400, 'bad.phone_number'));
    it('400 bad.send for send=link', async () => expectError(await post(startBody({ send: 'link' })), 400, 'bad.send'));
    it('400 bad.send for a non-string send', async () => expectError(await post(startBody({ send: ['code'] })), 400, 'bad.send'));
    it('400 bad.authParams when authParams is not an object', async () =>
      expectError(await post(startBody({ authParams: 'x' })), 400, 'bad.authParams'));
    it('400 bad.authParams when authParams is an array', async () =>
      expectError(await post(startBody({ authParams: [1] })), 400, 'bad.authParams'));
    it('400 bad.authParams for a nonce over 256 characters, which would grow every pending code', async () => {
      expectError(await post(startBody({ authParams: { nonce: 'n'.repeat(257) } })), 400, 'bad.authParams', /at most 256 characters/);
      assert.equal((await post(startBody({ authParams: { nonce: 'n'.repeat(256) } }))).status, 200);
    });
    it('400 bad.request for a property that is not allowed', async () =>
      expectError(await post(startBody({ email: 'a@b.c' })), 400, 'bad.request', /email/));
    it('400 bad.request naming a property without markup: an app that renders error_description gets no HTML from the request', async () => {
      const markup = '<svg onload=alert(document.domain)>';
      for (const res of [
        await post(startBody({ [markup]: 1 })),
        await request(app)
          .post('/passwordless/start')
          .type('form')
          .send(`client_id=x&${encodeURIComponent(markup)}=1`),
      ]) {
        expectError(res, 400, 'bad.request', /The property "\?svg onload=alert\(document\.domain\)\?" is not allowed/);
        assert.doesNotMatch(res.body.error_description, /[<>"'&]svg|svg[^"]*[<>'&]/);
      }
    });
    it('400 bad.request for a JSON array body', async () => expectError(await post([startBody()]), 400, 'bad.request'));
    it('400 bad.request for malformed JSON', async () =>
      expectError(
        await request(app).post('/passwordless/start').set('content-type', 'application/json').send('{"client_id":'),
        400,
        'bad.request',
      ));
    it('400 bad.request for a body of another content type', async () =>
      expectError(await request(app).post('/passwordless/start').set('content-type', 'text/plain').send('hello'), 400, 'bad.request'));
    it('413 bad.request for an oversized body', async () =>
      expectError(await post(startBody({ phone_number: 'x'.repeat(20_000) })), 413, 'bad.request'));
  });

  describe('when the send fails', () => {
    /** A sender that refuses every message with `error`, keeping the codes it was asked to send. */
    function failingSender(error: Error): SmsSender & { codes: string[] } {
      const codes: string[] = [];
      return {
        codes,
        async send(message) {
          codes.push(message.body.replace(/\D/g, ''));
          throw error;
        },
      };
    }

    it('keeps the status and code of a PasswordlessError, and no code stays pending', async () => {
      const sender = failingSender(new PasswordlessError('sms_provider_error', 400, "The 'To' number is not valid. (Code: 21211)"));
      const { app } = makeApp({ sender });
      const res = await request(app).post('/passwordless/start').send(startBody());
      expectError(res, 400, 'sms_provider_error', /Code: 21211/);
      // The code the sender was handed is not pending: it does not log in.
      assert.equal(sender.codes.length, 1);
      assert.match(sender.codes[0] ?? '', /^\d{6}$/);
      const verify = await request(app)
        .post('/passwordless/verify')
        .send(verifyBody(sender.codes[0] as string));
      assert.equal(verify.status, 403);
      assert.equal(verify.body.error, 'invalid_grant');
    });

    it('answers 502 for any other error, without its text', async () => {
      const { app } = makeApp({ sender: failingSender(new Error('socket hang up')) });
      const res = await request(app).post('/passwordless/start').send(startBody());
      expectError(res, 502, 'sms_provider_error');
      assert.doesNotMatch(res.body.error_description, /socket/);
    });

    it('leaves no pending code, not even the one it replaced', async () => {
      let fail = false;
      const codes: string[] = [];
      const sender: SmsSender = {
        async send(message) {
          codes.push(message.body.replace(/\D/g, ''));
          if (fail) throw new Error('provider down');
          return {};
        },
      };
      const { app } = makeApp({ sender });
      await request(app).post('/passwordless/start').send(startBody()).expect(200);
      fail = true;
      await request(app).post('/passwordless/start').send(startBody()).expect(502);
      assert.equal(codes.length, 2, 'the sender was handed both codes');
      for (const code of codes) {
        assert.match(code, /^\d{6}$/);
        await request(app).post('/passwordless/verify').send(verifyBody(code)).expect(403);
      }
    });

    it("removes only its own code when a send fails: a newer start's code, saved while it was in flight, still logs in", async () => {
      let failFirst: (() => void) | undefined;
      const codes: string[] = [];
      const sender: SmsSender = {
        async send(message) {
          codes.push(message.body.replace(/\D/g, ''));
          if (codes.length > 1) return {};
          await new Promise<void>((resolve) => (failFirst = resolve));
          throw new Error('provider down');
        },
      };
      // No cooldown (makeApp's default): the second start replaces the first's code at once.
      const { app } = makeApp({ sender });
      const first = request(app)
        .post('/passwordless/start')
        .send(startBody())
        .then((res) => res);
      while (!failFirst) await new Promise((resolve) => setTimeout(resolve, 5));
      await request(app).post('/passwordless/start').send(startBody()).expect(200);
      failFirst();
      assert.equal((await first).status, 502);
      await request(app)
        .post('/passwordless/verify')
        .send(verifyBody(codes[1] as string))
        .expect(200);
    });

    it('never puts the code in the error a sender raises', async () => {
      const sender: SmsSender = {
        async send(message) {
          throw new PasswordlessError('sms_provider_error', 400, `cannot deliver "${message.body}"`);
        },
      };
      const { app } = makeApp({ sender });
      const res = await request(app).post('/passwordless/start').send(startBody());
      assert.equal(res.status, 400);
      assert.doesNotMatch(res.body.error_description, /\d{6}/);
    });

    it('never puts the code in the error a sender raises, spaced out or with invisible characters between its digits', async () => {
      const fullWidth = (d: string[]) => d.map((c) => String.fromCharCode(0xff10 + Number(c))).join('');
      for (const spread of [
        (d: string[]) => d.join(' '),
        (d: string[]) => d.join('\u200b'),
        (d: string[]) => d.join(' -- '),
        (d: string[]) => d.join('&#32;'),
        (d: string[]) => d.map((c) => `&#${c.charCodeAt(0)};`).join(''),
        (d: string[]) => d.map((c) => String.fromCharCode(0x0660 + Number(c))).join(''),
        fullWidth,
      ]) {
        const sender: SmsSender = {
          async send(message) {
            const code = /\d{6}/.exec(message.body)?.[0] ?? '';
            throw new PasswordlessError('sms_provider_error', 400, `cannot deliver "${spread(code.split(''))}"`);
          },
        };
        const res = await request(makeApp({ sender }).app).post('/passwordless/start').send(startBody());
        assert.equal(res.status, 400);
        assert.equal(res.body.error_description, 'The SMS provider could not send the message. Try again later.', spread(['1', '2']));
      }
    });
  });

  it("answers a sender's own error text unless it quotes the message, however encoded or cut", async () => {
    const hex = (s: string) => Buffer.from(s).toString('hex');
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const encodings: Array<(body: string, code: string) => string> = [
      (body, code) => `Rejected "${body.slice(0, body.indexOf(code) + 4)}…"`,
      (body) => `Rejected "…${body.slice(6, 20).toUpperCase()}…"`,
      (body) => `Rejected (body=${b64(body)})`,
      (body) => `Rejected (body=${Buffer.from(body).toString('base64url')})`,
      (body) => `Rejected (excerpt=${b64(body).slice(5, 30)})`,
      (body) => `Rejected (body=${hex(body)})`,
      (body) => `Rejected (body=0x${hex(body).slice(3)})`,
      (_b, code) => `Rejected (code=${b64(code)})`,
      (_b, code) => `Rejected ${[...code].map((c) => `\\u00${hex(c)}`).join('')}`,
      (_b, code) => `Rejected ${[...code].map((c) => `\\x${hex(c)}`).join('')}`,
      (_b, code) => `Rejected ${[...code].map((c) => `%${hex(c)}`).join('')}`,
      (_b, code) => `Rejected ${[...code].map((c) => `%25${hex(c)}`).join('')}`,
    ];
    for (const encode of encodings) {
      const sender: SmsSender = {
        async send(message) {
          const code = /\d{6}/.exec(message.body)?.[0] ?? '';
          throw new PasswordlessError('sms_provider_error', 400, encode(message.body, code));
        },
      };
      const res = await request(makeApp({ sender, logger: false }).app)
        .post('/passwordless/start')
        .send(startBody());
      assert.equal(res.status, 400);
      assert.equal(res.body.error_description, 'The SMS provider could not send the message. Try again later.', encode('body', '123456'));
    }
    // A provider's own words, numbers and ids included, reach the client whichever code was drawn.
    const own = 'Cannot send to +14155550123: the number opted out (21610, request 5f2a9c0e7b1d4e3f)';
    const plain: SmsSender = {
      async send() {
        throw new PasswordlessError('sms_provider_error', 400, own);
      },
    };
    const app = makeApp({ sender: plain, logger: false }).app;
    for (let i = 0; i < 20; i += 1) {
      const res = await request(app).post('/passwordless/start').send(startBody());
      assert.equal(res.body.error_description, own);
    }
  });

  it('refuses a message longer than 1600 characters before sending it (a long client name: the template fits with the others)', async () => {
    const long = { clientId: 'long-name', name: 'x'.repeat(1700) };
    const { app, outbox } = makeApp({ clients: [CLIENT, long], template: '{{ code }} from {{ application.name }}' });
    const res = await request(app)
      .post('/passwordless/start')
      .send(startBody({ client_id: long.clientId }));
    expectError(res, 400, 'sms_provider_error', /1600/);
    assert.equal(outbox.messages.length, 0);
  });

  it('answers 500 with a clear message when express-session is not mounted, where a session is needed', async () => {
    const pl = passwordless({ secret: 'x'.repeat(32), sender: outboxSender(), clients: [CLIENT] });
    const app = express();
    app.use(pl.router);
    const res = await request(app).post('/passwordless/verify').send(verifyBody('123456'));
    assert.equal(res.status, 500);
    assert.match(res.body.error_description, /express-session/);
    // sessionStore keeps the code in the session: its start needs one too.
    const bound = express();
    bound.use(passwordless({ secret: 'x'.repeat(32), sender: outboxSender(), clients: [CLIENT], store: sessionStore() }).router);
    const start = await request(bound).post('/passwordless/start').send(startBody());
    assert.equal(start.status, 500);
    assert.match(start.body.error_description, /express-session/);
  });

  it("answers a JavaScript sender's error with no headers object or no string code as its own failure: the limits given back", async () => {
    for (const thrown of [
      new PasswordlessError('sms_provider_error', 502, 'down', null as unknown as Record<string, string>),
      new PasswordlessError(undefined as unknown as string, 503, 'down'),
    ]) {
      const broken: SmsSender = {
        async send() {
          throw thrown;
        },
      };
      const t = makeApp({ logger: false, sender: broken, rateLimits: { resendCooldownSeconds: 30 } });
      const first = await request(t.app).post('/passwordless/start').send(startBody());
      expectError(first, thrown.status, 'sms_provider_error');
      // It failed for certain: the cooldown was given back.
      expectError(await request(t.app).post('/passwordless/start').send(startBody()), thrown.status, 'sms_provider_error');
    }
  });

  it('answers a custom sender error of an unwritable status (NaN, 450.5) as a 502, not with no answer at all', async () => {
    for (const status of [Number.NaN, 450.5]) {
      const broken: SmsSender = {
        async send() {
          throw new PasswordlessError('sms_provider_error', status, 'nope');
        },
      };
      const res = await request(makeApp({ logger: false, sender: broken }).app)
        .post('/passwordless/start')
        .send(startBody())
        .timeout(5000);
      expectError(res, 502, 'sms_provider_error');
    }
  });

  it("names the app's own body parser when one in front of the router read the body its way", async () => {
    const appWith = (parser: express.RequestHandler) => {
      const app = express();
      app.use(parser);
      app.use(passwordless({ secret: 'x'.repeat(32), sender: outboxSender(), clients: [CLIENT], logger: false }).router);
      return app;
    };
    for (const parser of [express.raw({ type: '*/*' }), express.text({ type: '*/*' })]) {
      const res = await request(appWith(parser)).post('/passwordless/start').send(startBody());
      expectError(res, 400, 'bad.request', /express\.raw\(\) or express\.text\(\)/);
    }
    const flat = await request(appWith(express.urlencoded({ extended: false })))
      .post('/passwordless/start')
      .type('form')
      .send('client_id=app-public&connection=sms&phone_number=%2B14155550123&authParams[nonce]=abc');
    expectError(flat, 400, 'bad.request', /"authParams\[nonce\]" is not allowed.*extended: false/);
    // Through the router's own parser the same form is read, nested field included.
    const own = await request(appWith((_req, _res, next) => next()))
      .post('/passwordless/start')
      .type('form')
      .send('client_id=app-public&connection=sms&phone_number=%2B14155550123&authParams[nonce]=abc');
    assert.equal(own.status, 200, own.text);
  });

  it('starts without express-session when the store keeps nothing in it: a backend using only the token grant needs none', async () => {
    const outbox = outboxSender();
    const pl = passwordless({ secret: 'x'.repeat(32), sender: outbox, clients: [CLIENT] });
    const app = express();
    app.use(pl.router);
    await request(app).post('/passwordless/start').send(startBody()).expect(200);
    assert.equal(outbox.messages.length, 1);
  });
});
