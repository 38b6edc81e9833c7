/** Numbers as logs show them: the country calling code and the last two digits, nothing more. */
import assert from 'node:assert/strict';
import { maskPhone, parsePhone } from '../../lib/core/phone';

describe('phone numbers', () => {
  it('masks every digit but the country calling code and the last two, however short the number', () => {
    assert.equal(maskPhone('+14155550123'), '+1********23');
    assert.equal(maskPhone('+6834002'), '+683**02');
    assert.equal(maskPhone('+33612345678'), '+33*******78');
    assert.equal(maskPhone('+447700900123'), '+44********23');
  });

  it('parses formatting variants to one E.164 number, and refuses what is not exactly one number', () => {
    assert.equal(parsePhone('+1 (415) 555-0123')?.e164, '+14155550123');
    assert.equal(parsePhone('+33 6 12 34 56 78')?.callingCode, '33');
    for (const bad of ['12345', '+1415555012', 'call +14155550123 now', '', '+'.repeat(70)]) assert.equal(parsePhone(bad), undefined, bad);
  });

  it('looks up the number type only when asked (blocked types configured)', () => {
    assert.equal(parsePhone('+14155550123', false)?.type, undefined);
    assert.ok(parsePhone('+14155550123', true)?.type);
  });
});
