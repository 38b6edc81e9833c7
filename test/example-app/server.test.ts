/**
 * `npm start` as a person runs it: node example-app/server.js in its own process, and the
 * repository's .gitignore around the example app.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..', '..');

/** Runs server.js with only the variables given (no Redis, no Twilio) and resolves when it exits. */
function runServer(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'example-app', 'server.js')], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // A server that started instead of failing would run forever: stop it and report.
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('example app server.js', function () {
  this.timeout(20_000);
  let holder: net.Server;
  let port: number;

  before(async () => {
    holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    port = (holder.address() as net.AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => holder.close(() => resolve())));

  it('explains a port already in use and exits non-zero', async () => {
    const { code, stderr } = await runServer({ PORT: String(port), HOST: '127.0.0.1' });
    assert.notEqual(code, 0);
    assert.equal(code, 1, `exited by itself, not killed by the test (stderr: ${stderr})`);
    assert.match(stderr, new RegExp(`\\[example-app\\] port ${port} is already in use: set PORT=`));
    assert.doesNotMatch(stderr, /TypeError/);
  });
});

describe('example app files', () => {
  it('keeps example-app/.env out of git', () => {
    // Exits 0 and prints the path only when a .gitignore rule matches it.
    const out = execFileSync('git', ['check-ignore', 'example-app/.env'], { cwd: root, encoding: 'utf8' });
    assert.equal(out.trim(), 'example-app/.env');
  });
});
