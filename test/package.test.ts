import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const EXPORTS = [
  'passwordless',
  'twilioSender',
  'consoleSender',
  'outboxSender',
  'memoryStore',
  'sessionStore',
  'redisStore',
  'PasswordlessError',
];

function run(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
}

describe('the package root', () => {
  it('works with require()', () => {
    const out = run([
      '-e',
      `const m = require('express-passwordless-sms'); console.log(JSON.stringify(${JSON.stringify(EXPORTS)}.map((n) => typeof m[n])))`,
    ]);
    assert.deepEqual(
      JSON.parse(out),
      EXPORTS.map(() => 'function'),
    );
  });

  it('works with import', () => {
    const out = run([
      '--input-type=module',
      '-e',
      `import { ${EXPORTS.join(', ')} } from 'express-passwordless-sms'; console.log(JSON.stringify([${EXPORTS.join(', ')}].map((f) => typeof f)))`,
    ]);
    assert.deepEqual(
      JSON.parse(out),
      EXPORTS.map(() => 'function'),
    );
  });

  it('builds a working instance from the import', () => {
    const out = run([
      '--input-type=module',
      '-e',
      "import { passwordless, outboxSender, PasswordlessError } from 'express-passwordless-sms'; const p = passwordless({ secret: 'x'.repeat(32), sender: outboxSender(), clients: [{ clientId: 'a', name: 'A' }] }); try { passwordless({}) } catch (e) { console.log(typeof p.router, e instanceof PasswordlessError) }",
    ]);
    assert.equal(out.trim(), 'function true');
  });
});
