/**
 * What a provider said may reach a log (`providerCode`, a failover's reason) only when it holds
 * none of the message's digits: a provider, or a proxy in front of one, that echoes digits of
 * the message as its "error code" must not log the code.
 */
import assert from 'node:assert/strict';
import { loggableProviderCode } from '../../lib/core/scrub';

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
