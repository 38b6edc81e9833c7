/**
 * CORS for the origins in `allowedOrigins` (Auth0's "Allowed Web Origins"): a browser app on
 * another origin can call the routes, with its session cookie, and no other origin can read an
 * answer.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { makeApp, startBody } from '../helpers/app';

const APP = 'https://app.example.com';
const ISSUER = 'https://auth.example.com/';

describe('CORS for allowedOrigins', () => {
  const t = makeApp({ logger: false, allowedOrigins: [APP], tokens: { issuer: ISSUER } });

  for (const [path, method] of [
    ['/passwordless/start', 'POST'],
    ['/passwordless/verify', 'POST'],
    ['/passwordless/logout', 'POST'],
    ['/oauth/token', 'POST'],
    ['/userinfo', 'GET, POST'],
  ] as const) {
    it(`answers a listed origin's preflight for ${method} ${path}, with credentials and the headers Auth0's SDKs send`, async () => {
      const res = await request(t.app)
        .options(path)
        .set('origin', APP)
        .set('access-control-request-method', method.split(',')[0] as string)
        .set('access-control-request-headers', 'content-type,auth0-client,x-request-language');
      assert.equal(res.status, 204);
      assert.equal(res.headers['access-control-allow-origin'], APP);
      assert.equal(res.headers['access-control-allow-credentials'], 'true');
      assert.equal(res.headers['access-control-allow-methods'], method);
      for (const header of ['content-type', 'auth0-client', 'x-request-language', 'authorization'])
        assert.ok(res.headers['access-control-allow-headers']?.toLowerCase().includes(header), header);
      assert.match(res.headers.vary ?? '', /Origin/);
    });

    it(`gives another origin's preflight for ${path} no CORS header`, async () => {
      const res = await request(t.app).options(path).set('origin', 'https://evil.example').set('access-control-request-method', method);
      assert.equal(res.headers['access-control-allow-origin'], undefined);
      assert.equal(res.headers['access-control-allow-credentials'], undefined);
    });
  }

  it("admits a hybrid app's web-view origin (capacitor://localhost) once listed, and only that one", async () => {
    const hybrid = makeApp({ logger: false, allowedOrigins: ['capacitor://localhost', 'IONIC://localhost'] });
    for (const origin of ['capacitor://localhost', 'ionic://localhost']) {
      const ok = await request(hybrid.app).post('/passwordless/start').set('origin', origin).send(startBody()).expect(200);
      assert.equal(ok.headers['access-control-allow-origin'], origin);
    }
    for (const origin of ['capacitor://evil', 'null', 'app://localhost']) {
      await request(hybrid.app).post('/passwordless/start').set('origin', origin).send(startBody()).expect(403);
    }
    for (const refused of ['file://localhost', 'capacitor://localhost?x', 'capacitor://*'])
      assert.throws(() => makeApp({ allowedOrigins: [refused] }), /`allowedOrigins` contains/);
  });

  it("lets a listed origin read the start's answer and its errors, and no other origin", async () => {
    const ok = await request(t.app).post('/passwordless/start').set('origin', APP).send(startBody());
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.headers['access-control-allow-origin'], APP);
    assert.equal(ok.headers['access-control-allow-credentials'], 'true');
    // A 429's wait is readable by the page.
    assert.match(ok.headers['access-control-expose-headers'] ?? '', /Retry-After/);
    const refused = await request(t.app)
      .post('/passwordless/start')
      .set('origin', APP)
      .send(startBody({ phone_number: '12' }));
    assert.equal(refused.status, 400);
    assert.equal(refused.headers['access-control-allow-origin'], APP);
    const other = await request(t.app).post('/passwordless/start').set('origin', 'https://evil.example').send(startBody());
    assert.equal(other.status, 403);
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    // Answers differ by Origin once origins are listed: a shared cache must key them by it.
    assert.match(other.headers.vary ?? '', /Origin/);
    const noOrigin = await request(t.app).get('/userinfo');
    assert.match(noOrigin.headers.vary ?? '', /Origin/);
    const postWithout = await request(t.app).post('/passwordless/start').send(startBody());
    assert.match(postWithout.headers.vary ?? '', /Origin/);
    const token = await request(t.app).post('/oauth/token').set('origin', APP).send({ grant_type: 'password' });
    assert.equal(token.headers['access-control-allow-origin'], APP);
    const userinfo = await request(t.app).get('/userinfo').set('origin', APP);
    assert.equal(userinfo.status, 401);
    assert.equal(userinfo.headers['access-control-allow-origin'], APP);
  });

  it('sends no CORS header and answers no preflight without allowedOrigins (an app may mount its own cors())', async () => {
    const plain = makeApp({ logger: false });
    const res = await request(plain.app).options('/passwordless/start').set('origin', APP).set('access-control-request-method', 'POST');
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    assert.notEqual(res.status, 204);
    const post = await request(plain.app).post('/passwordless/start').set('origin', APP).send(startBody());
    assert.equal(post.headers['access-control-allow-origin'], undefined);
  });
});
