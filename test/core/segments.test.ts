import assert from 'node:assert/strict';
import request from 'supertest';
import type { Logger } from '../../lib';
import { analyseSms } from '../../lib/core/segments';
import { lastCode, makeApp, startBody, verifyBody } from '../helpers/app';

describe('SMS segment counting', () => {
  const cases: Array<[string, string, 'GSM-7' | 'UCS-2', number, number]> = [
    ['160 GSM-7 characters', 'a'.repeat(160), 'GSM-7', 160, 1],
    ['161 GSM-7 characters', 'a'.repeat(161), 'GSM-7', 161, 2],
    ['306 GSM-7 characters (2 × 153)', 'a'.repeat(306), 'GSM-7', 306, 2],
    ['307 GSM-7 characters', 'a'.repeat(307), 'GSM-7', 307, 3],
    ['é and à stay in GSM-7', 'é'.repeat(80) + 'à'.repeat(80), 'GSM-7', 160, 1],
    ['extension characters count twice', '€'.repeat(80), 'GSM-7', 160, 1],
    ['one more extension character splits', '€'.repeat(80) + 'a', 'GSM-7', 161, 2],
    ['ê forces UCS-2', 'ê' + 'a'.repeat(69), 'UCS-2', 70, 1],
    ['71 UCS-2 units split', 'ê' + 'a'.repeat(70), 'UCS-2', 71, 2],
    ['an emoji is two UCS-2 units', '😀' + 'a'.repeat(68), 'UCS-2', 70, 1],
    ['ć forces UCS-2 (135 units → 3 × 67)', 'ć'.repeat(135), 'UCS-2', 135, 3],
  ];
  for (const [label, text, encoding, length, segments] of cases) {
    it(label, () => {
      const a = analyseSms(text);
      assert.equal(a.encoding, encoding);
      assert.equal(a.length, length);
      assert.equal(a.segments, segments);
    });
  }

  it('names the characters that force UCS-2', () => {
    assert.deepEqual(analyseSms('Votre code : 123 ê 😀 ê').nonGsmCharacters, ['ê', '😀']);
  });

  it('warns once at construction when a template takes more than one segment', () => {
    const warnings: string[] = [];
    const logger: Logger = { info() {}, warn: (e) => warnings.push(String(e.message)), error() {} };
    makeApp({
      logger,
      template: `{{ code }} ${'x'.repeat(200)}`,
      templates: { fr: 'Code : {{ code }} ê', de: `{{ code }} ${'ú'.repeat(70)}` },
    });
    assert.equal(warnings.length, 2);
    assert.match(warnings[0] ?? '', /`template` renders to 2 SMS segments \(207 GSM-7 characters\)/);
    assert.match(warnings[1] ?? '', /`templates\.de` renders to 2 SMS segments .*UCS-2 because of "ú"/);
  });
});

describe('WebOTP', () => {
  it('appends the origin-bound line @domain #code', async () => {
    const t = makeApp({ webOtp: { domain: 'login.example.com' } });
    await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
    const code = lastCode(t.outbox);
    assert.equal(t.outbox.last()?.body, `Your verification code is: ${code}\n\n@login.example.com #${code}`);
    // Both places carry the pending code (it was read from the message itself).
    await request(t.app).post('/passwordless/verify').send(verifyBody(code)).expect(200);
  });

  it('refuses a domain with a scheme', () => {
    assert.throws(() => makeApp({ webOtp: { domain: 'https://example.com' } }), /webOtp\.domain.*without scheme/);
  });
});
