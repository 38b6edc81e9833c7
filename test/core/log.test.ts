/**
 * Free text in log events (a hook's or a provider's message) is masked wherever it quotes a
 * phone number, in the notations people and databases write, while addresses stay readable.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { PasswordlessError } from '../../lib';
import { outcomeUnknown } from '../../lib/errors';
import { maskNumbersIn } from '../../lib/core/log';
import { makeApp, startBody } from '../helpers/app';
import { recorder } from '../helpers/log';

describe('maskNumbersIn', () => {
  const masked: Array<[string, string]> = [
    ['+14155550123 failed', '+1********23 failed'],
    ['tel +1 (415) 555-4466', 'tel +* (***) ***-**66'],
    ['duplicate key (phone)=(14155554466)', 'duplicate key (phone)=(*********66)'],
    ['415 - 555 - 4466', '*** - *** - **66'],
    ['415\u2013555\u20134466', '***\u2013***\u2013**66'],
    ['415/555-4466', '***/***-**66'],
    ['a local number, 555-0123', 'a local number, ***-**23'],
    ['call 079.123.45.67 now', 'call ***.***.**.67 now'],
    ['415.555.44.66', '***.***.**.66'],
  ];
  for (const [text, expected] of masked) {
    it(`masks ${JSON.stringify(text)}`, () => assert.equal(maskNumbersIn(text), expected));
  }

  it('leaves a server address with its port, six digits and an error code readable', () => {
    for (const text of ['connect ECONNREFUSED 172.31.22.104:6379', 'Twilio error 21211', 'id 123456'])
      assert.equal(maskNumbersIn(text), text);
  });
});

describe('code_sent', () => {
  async function sentWith(idOf: (body: string) => unknown): Promise<Record<string, unknown>> {
    const r = recorder();
    const sender = { name: 'gw', send: async (m: { body: string }) => ({ id: idOf(m.body) }) as { id?: string } };
    const t = makeApp({ logger: r.logger, sender });
    await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
    return r.events.find((e) => e.event === 'code_sent') as Record<string, unknown>;
  }

  it("carries the provider's message id, to join with its delivery_status", async () => {
    const sid = 'SMabcdefabcdefabcdefabcdefabcdef12';
    assert.equal((await sentWith(() => sid)).messageId, sid);
  });

  it('leaves out an id that is no id (text, an object, too long) or that quotes the code', async () => {
    const ids: Array<(body: string) => unknown> = [
      () => 'two words',
      () => ({ sid: 'SM1' }),
      () => 'x'.repeat(200),
      (body) => `SM${/\d{6}/.exec(body)?.[0]}`,
      (body) => `msg-${/\d{6}/.exec(body)?.[0]?.replace(/^(\d{3})/, '$1-')}`,
      (body) => `id_${Buffer.from(/\d{6}/.exec(body)?.[0] ?? '').toString('hex')}`,
      (body) => Buffer.from(/\d{6}/.exec(body)?.[0] ?? '').toString('base64url'),
    ];
    for (const idOf of ids) assert.equal((await sentWith(idOf)).messageId, undefined, String(idOf));
  });
});

describe('a send of unknown outcome, once it settles', () => {
  async function settled(wentOut: boolean): Promise<Array<Record<string, unknown>>> {
    const r = recorder();
    let settle: (went: boolean) => void = () => undefined;
    const sender = {
      name: 'slow',
      async send(): Promise<{ id?: string }> {
        const late = new Promise<boolean>((resolve) => (settle = resolve));
        throw outcomeUnknown(new PasswordlessError('sms_provider_error', 502, 'The SMS provider did not answer.'), late);
      },
    };
    const t = makeApp({ logger: r.logger, sender });
    await request(t.app).post('/passwordless/start').send(startBody()).expect(502);
    settle(wentOut);
    for (let i = 0; i < 50 && r.events.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    return r.events;
  }

  it('logs code_sent (late) when the SMS went out after all, so the log counts what was sent', async () => {
    const events = await settled(true);
    assert.deepEqual(
      events.map((e) => [e.event, e.late]),
      [
        ['send_failed', undefined],
        ['code_sent', true],
      ],
    );
    assert.equal(events[1]?.provider, 'slow');
  });

  it('logs send_failed again when it did not go out, saying its code went and its limits came back', async () => {
    const events = await settled(false);
    assert.equal(events.length, 2, JSON.stringify(events));
    assert.equal(events[1]?.event, 'send_failed');
    assert.match(String(events[1]?.reason), /did not go out/);
  });
});
