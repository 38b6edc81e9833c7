/**
 * Free text in log events (a hook's or a provider's message) is masked wherever it quotes a
 * phone number, in the notations people and databases write, while addresses stay readable.
 */
import assert from 'node:assert/strict';
import { maskNumbersIn } from '../../lib/core/log';

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
