/**
 * What a provider said may reach a log (`providerCode`, a failover's reason) only when it holds
 * none of the message's digits: a provider, or a proxy in front of one, that echoes digits of
 * the message as its "error code" must not log the code.
 */
import assert from 'node:assert/strict';
import { PasswordlessError } from '../../lib';
import { loggableErrorCode, loggableProviderCode, sendFailure } from '../../lib/core/scrub';

describe('provider codes in logs', () => {
  const body = 'Your Acme code is: 044538';

  it("keeps what a provider says of its own: Twilio's error codes, HTTP statuses, system errors", () => {
    for (const said of ['20003', '21211', 'HTTP 503', 'timeout', 'network', 'ECONNREFUSED', 'UND_ERR_SOCKET'])
      assert.equal(loggableProviderCode(said, body), said);
  });

  it('drops digits the message holds, inside the code or around it', () => {
    assert.equal(loggableProviderCode('44538', body), undefined);
    assert.equal(loggableProviderCode('04453', body), undefined);
    // A code of 4 digits inside a 5-digit "error code".
    assert.equal(loggableProviderCode('48215', 'Your code is: 4821'), undefined);
  });

  it('drops what is not of a known shape (free text can quote the number)', () => {
    for (const said of ['refused +14155550123', '123', 'e123', 'Too many requests'])
      assert.equal(loggableProviderCode(said, body), undefined);
    assert.equal(loggableProviderCode(undefined, body), undefined);
  });
});

describe("a custom sender's error on its way to the answer and the log (sendFailure)", () => {
  const code = '724019';
  const message = { body: `Your Acme code is: ${code}` };
  const failing = (errorCode: string, headers?: Record<string, string>) =>
    sendFailure(new PasswordlessError(errorCode, 502, 'The provider said no.', headers), message, code);

  it('keeps an error code of its own', () => {
    for (const own of ['sms_provider_error', 'quota_exceeded', 'HTTP_503']) assert.equal(failing(own).code, own);
  });

  it("drops an error code holding the code's digits, whichever way round, split up, or encoded", () => {
    for (const leaky of [
      `e1${code}`,
      `e${code}9`,
      'otp_72_40_19',
      `bad_${code.slice(0, 4)}`,
      Buffer.from(code).toString('base64').replace(/=+$/, ''),
      `x${Buffer.from(code).toString('hex')}`,
    ]) {
      const answered = failing(leaky);
      assert.equal(answered.code, 'sms_provider_error', leaky);
      assert.equal(loggableErrorCode(leaky, message.body), undefined, leaky);
    }
  });

  it('keeps only a Retry-After of seconds, at most an hour, and no other header', () => {
    assert.deepEqual(failing('slow_down', { 'Retry-After': '60', 'X-Echo': message.body }).headers, { 'Retry-After': '60' });
    assert.deepEqual(failing('slow_down', { 'retry-after': '0060' }).headers, { 'Retry-After': '60' });
    assert.deepEqual(failing('slow_down', { 'Retry-After': '7200' }).headers, { 'Retry-After': '3600' });
    assert.deepEqual(failing('slow_down', { 'Retry-After': 'Wed, 21 Oct 2026 07:28:00 GMT' }).headers, {});
    // Four of the message's digits in a row could be the code's.
    assert.deepEqual(failing('slow_down', { 'Retry-After': code.slice(1, 5) }).headers, {});
  });

  it("reads each field of the sender's error once, and answers a fresh error: a getter cannot show the check one value and the answer another", () => {
    const reads = { code: 0, message: 0, status: 0, headers: 0 };
    const sly = new PasswordlessError('x', 502, 'x');
    const later = <T>(field: keyof typeof reads, first: T, then: T) =>
      Object.defineProperty(sly, field, { get: () => (reads[field]++ === 0 ? first : then) });
    later('code', 'provider_down', `e${code}`);
    later('message', 'The provider said no.', `your code ${code}`);
    later('status', 502, Number(code));
    later('headers', {}, { 'X-Otp': code });
    const answered = sendFailure(sly, message, code);
    assert.notEqual(answered, sly);
    const seen = [answered.code, answered.message, String(answered.status), JSON.stringify(answered.headers)].join(' ');
    assert.doesNotMatch(seen, new RegExp(code));
    assert.deepEqual(reads, { code: 1, message: 1, status: 1, headers: 1 });
  });

  it('answers anything that is not a text message, status or headers object as the generic failure, never throwing', () => {
    const odd = new PasswordlessError('x', 502, 'down', null as unknown as Record<string, string>);
    Object.defineProperty(odd, 'message', { get: () => 42 });
    const answered = sendFailure(odd, message, code);
    assert.equal(answered.status, 502);
    assert.equal(typeof answered.message, 'string');
    assert.deepEqual(answered.headers, {});
  });
});
