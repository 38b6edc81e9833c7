import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import request from 'supertest';
import { createKeyring } from '../../lib/core/crypto';
import { CLIENT, lastCode, makeApp, startBody, verifyBody, wrongCodeFor } from '../helpers/app';

// What the keyring writes is stored: user ids in the app's database, code keys and limit keys in
// Redis. A release that changed them would log every user in under a new id and forget every
// pending code and count, so each form is pinned: known answers, and the definition itself
// over many random inputs.
describe('keyring', () => {
  const USER_ID_SECRET = 'a-user-id-secret-that-never-rotates-0123';
  const SECRET = 'c'.repeat(32);
  const keyring = createKeyring([SECRET], USER_ID_SECRET);

  /** The keys' definition: HMAC-SHA256 of the JSON-encoded parts, then a prefix of its bytes. */
  function definition(secret: string, parts: string[]): Buffer {
    return createHmac('sha256', Buffer.from(secret, 'utf8')).update(JSON.stringify(parts)).digest();
  }

  it('keeps the user id, limit key, code key and code hash of a number from earlier releases', () => {
    assert.equal(keyring.userId('+14155550100'), 'sms|b2af7bbd56b14c8e2f3fd72c');
    assert.equal(keyring.limitKey('phone:+14155550100'), 'EltBVHP-SHRdJ7QdBQ8n0A');
    assert.equal(keyring.current.codeKey('client-a', ''), 'yAI73VfEJOGYv9ypxZdduw');
    assert.equal(keyring.current.codeKey('client-a', 'binding-1'), 'rjSx-nn1d_WwIH1tQ9QRDw');
    assert.equal(keyring.current.codeHash('+14155550100', 'client-a', '', '123456'), 'cxT3ncSsbqhVIH2Zm08rHTtZvNb9Ys1TadU441BPYGo');
    assert.equal(
      keyring.current.codeHash('+14155550100', 'client-a', 'binding-1', '123456'),
      'wMelqUNPKShMDmAj9-X9wr1o4ER3HdwHUpdJWe1iSLE',
    );
  });

  it('writes every key as the first bytes of its HMAC, whatever the input', () => {
    // 2 000 random values: the whole MAC's 22nd base64url character, which the key's last
    // character is read from, takes all 64 values many times over (about 1 in 10^12 to miss one).
    const endings = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const value = randomBytes(1 + (i % 40)).toString('latin1');
      const limitKey = keyring.limitKey(value);
      endings.add(limitKey.slice(-1));
      assert.equal(limitKey, definition(USER_ID_SECRET, ['limit', value]).subarray(0, 16).toString('base64url'));
      assert.equal(keyring.userId(value), `sms|${definition(USER_ID_SECRET, ['user', value]).subarray(0, 12).toString('hex')}`);
      assert.equal(keyring.current.codeKey(value, 'b'), definition(SECRET, ['slot', value, 'b']).subarray(0, 16).toString('base64url'));
      assert.equal(
        keyring.current.codeHash('+14155550100', value, '', '000000'),
        definition(SECRET, ['code', value, '+14155550100', '000000']).toString('base64url'),
      );
    }
    // A 16-byte encoding ends on one of 4 characters (2 bits, then zeros): all four were seen.
    assert.deepEqual([...endings].sort(), ['A', 'Q', 'g', 'w']);
  });
});

describe('comparisons of secrets', () => {
  it("compares a code's hash and a client secret with Node's constant-time comparison, lengths that differ included", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeCrypto = require('node:crypto') as { timingSafeEqual: (a: Buffer, b: Buffer) => boolean };
    const original = nodeCrypto.timingSafeEqual;
    const compared: string[] = [];
    nodeCrypto.timingSafeEqual = function spy(a: Buffer, b: Buffer) {
      compared.push(`${a.length}:${b.length}`);
      return original(a, b);
    };
    try {
      const t = makeApp({ clients: [CLIENT, { clientId: 'backend', name: 'Backend', secret: 'a-client-secret-of-32-or-more-chars' }] });
      await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
      compared.length = 0;
      await request(t.app)
        .post('/passwordless/verify')
        .send(verifyBody(wrongCodeFor(lastCode(t.outbox))))
        .expect(403);
      assert.ok(compared.length > 0, 'the wrong code was compared without timingSafeEqual');
      compared.length = 0;
      await request(t.app)
        .post('/passwordless/start')
        .send(startBody({ client_id: 'backend', client_secret: 'short' }))
        .expect(401);
      assert.deepEqual(compared, ['5:5'], 'a secret of another length costs one comparison of its own length');
      // A number with no live code (never sent, or expired) costs a comparison, as a wrong code does.
      const comparisonsOfAVerify = async (phone: string): Promise<number> => {
        compared.length = 0;
        await request(t.app)
          .post('/passwordless/verify')
          .send(verifyBody('123456', { phone_number: phone }))
          .expect(403);
        return compared.length;
      };
      assert.equal(await comparisonsOfAVerify('+14155550199'), 1, 'a never-sent code is compared once, as a wrong one is');
      await request(t.app)
        .post('/passwordless/start')
        .send(startBody({ phone_number: '+14155550198' }))
        .expect(200);
      t.clock.advance(60 * 60 * 1000);
      assert.equal(await comparisonsOfAVerify('+14155550198'), 1, 'an expired code is compared once, as a wrong one is');
    } finally {
      nodeCrypto.timingSafeEqual = original;
    }
  });
});
