/**
 * Every code block of the README is checked: JavaScript runs (as a user would, importing the
 * package by name), TypeScript type-checks, Liquid compiles, and shell lines name scripts that
 * exist (the preview CLI lines are run).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { passwordless, outboxSender } from '../lib';
import { requireRedis } from './helpers/redis';

const root = path.resolve(__dirname, '..', '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m, i) => ({ lang: m[1] ?? '', code: m[2] ?? '', index: i + 1 }));
const scratch = path.join(root, 'build', 'readme');

/**
 * Where a JavaScript block runs: at the path its first line names (`// app.js`,
 * `// test/login.test.js`), as the reader saves it, so that a test block's `require('../app')`
 * finds the Quick start's app; else as a numbered scratch file.
 */
function fileOf(block: { code: string; index: number }): string {
  const named = /^\/\/ ([\w-]+(?:\/[\w.-]+)*\.js)\n/.exec(block.code)?.[1];
  return path.join(scratch, named ?? `block-${block.index}.js`);
}
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

describe('README code blocks', function () {
  this.timeout(60_000);
  before(async function () {
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.mkdirSync(scratch, { recursive: true });
    // Every named file first: a block may require another (a test requires the Quick start's app).
    for (const b of blocks.filter((x) => x.lang === 'js')) {
      const file = fileOf(b);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      assert.ok(!fs.existsSync(file), `two README blocks are saved as ${path.relative(scratch, file)}`);
      fs.writeFileSync(file, b.code);
    }
    if (blocks.some((b) => b.code.includes('redis://'))) await requireRedis(this);
  });

  it('has only blocks of checked kinds', () => {
    assert.ok(blocks.length >= 8, `${blocks.length} blocks`);
    for (const b of blocks)
      assert.ok(
        ['js', 'ts', 'sh', 'liquid'].includes(b.lang),
        `block ${b.index} is \`${b.lang}\`; use js, ts, sh or liquid so it can be checked`,
      );
  });

  for (const block of blocks.filter((b) => b.lang === 'js')) {
    const first =
      block.code
        .split('\n')
        .find((l) => l.trim() && !l.startsWith('const {') && !l.startsWith('const '))
        ?.trim() ?? '';
    it(`runs JavaScript block ${block.index} (${first.slice(0, 50)}…)`, () => {
      const file = fileOf(block);
      const preload = path.join(root, 'build', 'test', 'helpers', 'readme-preload.js');
      // A block written as a test file (describe/it) runs under mocha, as its reader would run it.
      const args = /\bdescribe\(/.test(block.code)
        ? [path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--no-config', '--timeout', '20000', '--exit', file]
        : ['--require', preload, file];
      const result = spawnSync(process.execPath, args, {
        cwd: root,
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, NODE_ENV: 'development', TWILIO_ACCOUNT_SID: '' },
      });
      assert.equal(result.status, 0, `exit ${result.status} ${result.signal ?? ''}\n${result.stderr}`);
    });
  }

  it('type-checks the TypeScript blocks', () => {
    const ts = blocks.filter((b) => b.lang === 'ts');
    assert.ok(ts.length > 0);
    const files = ts.map((b) => {
      const file = path.join(scratch, `block-${b.index}.ts`);
      fs.writeFileSync(file, b.code);
      return path.basename(file);
    });
    fs.writeFileSync(
      path.join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files,
      }),
    );
    execFileSync(
      process.execPath,
      [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(scratch, 'tsconfig.json')],
      { encoding: 'utf8' },
    );
  });

  it('compiles the Liquid blocks as templates', () => {
    for (const b of blocks.filter((x) => x.lang === 'liquid')) {
      passwordless({ secret: 'x'.repeat(32), sender: outboxSender(), clients: [{ clientId: 'c', name: 'C' }], template: b.code.trim() });
    }
  });

  it('names only commands that exist in the shell blocks, and the preview lines run', () => {
    for (const b of blocks.filter((x) => x.lang === 'sh')) {
      for (const line of b.code
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)) {
        const npmRun = /^npm (?:run )?(\S+)/.exec(line);
        if (
          /^(git clone https:\/\/github\.com\/|cd \S+$|npm pack$|mkdir \S+$|npm init -y$|npm install (express express-session )?\.\.\/|npm install express-passwordless-sms$)/.test(
            line,
          )
        ) {
          // The install path from a clone: git, directory changes and npm's own commands.
        } else if (line.startsWith('curl ')) {
          // Run against a live app by the curl test below.
        } else if (line.startsWith('npx express-passwordless-sms ')) {
          const args = line.replace('npx express-passwordless-sms ', '').split(/\s+/);
          const result = spawnSync(process.execPath, [path.join(root, 'dist', 'cli.js'), ...args], { cwd: root, encoding: 'utf8' });
          assert.equal(result.status, 0, `${line}\n${result.stderr}`);
        } else if (npmRun) {
          const script = npmRun[1] as string;
          assert.ok(script === 'install' || script === 'ci' || pkg.scripts[script], `npm ${script} is not a script`);
        } else {
          assert.fail(`unchecked shell line: ${line}`);
        }
      }
    }
  });

  it('says the two set-up commands and the test command', () => {
    assert.match(readme, /```sh\nnpm install\nnpm start\n```/);
    assert.match(readme, /`npm test`/);
  });
});
