/**
 * The package as npm ships it: `npm pack`, install the tarball into fresh CommonJS, ESM and
 * TypeScript consumers, and use it. Also what the tarball holds.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const fixtures = path.join(root, 'test', 'fixtures', 'consumer');
const rootPkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
}

describe('install scripts', () => {
  it("has none a consumer's install would run: the tarball is built by prepack instead", () => {
    const installTime = ['preinstall', 'install', 'postinstall', 'prepare'].filter((name) => name in rootPkg.scripts);
    assert.deepEqual(installTime, []);
    // Without a build before packing, the tarball would ship without dist/.
    assert.match(rootPkg.scripts.prepack, /npm run build/);
  });
});

describe('packaging', function () {
  this.timeout(240_000);
  let dir: string;
  let tarball: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pwl-consumer-'));
    const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], root)) as Array<{ filename: string }>;
    tarball = path.join(dir, packed[0]?.filename as string);
    for (const file of fs.readdirSync(fixtures)) fs.copyFileSync(path.join(fixtures, file), path.join(dir, file));
    // Each ES module consumer is its CommonJS twin with the requires turned into imports.
    for (const name of ['app', 'testing']) {
      const cjs = fs.readFileSync(path.join(fixtures, `${name}.cjs`), 'utf8');
      fs.writeFileSync(
        path.join(dir, `${name}.mjs`),
        cjs
          .replace(/^const (\{[^}]+\}|\w+) = require\(('[^']+')\);$/gm, 'import $1 from $2;')
          .replace('A CommonJS consumer', 'An ES module consumer'),
      );
    }
    const devVersion = (name: string) => rootPkg.devDependencies[name] as string;
    fs.writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({
        name: 'consumer',
        private: true,
        dependencies: {
          'express-passwordless-sms': `file:${tarball}`,
          express: devVersion('express'),
          'express-session': devVersion('express-session'),
        },
        devDependencies: {
          '@types/express': devVersion('@types/express'),
          '@types/express-session': devVersion('@types/express-session'),
          // The newest @types/node, as @types/express brings it to a new app (its crypto types changed in 25).
          '@types/node': '^26.0.0',
          '@types/passport': devVersion('@types/passport'),
        },
      }),
    );
    npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], dir);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('ships only dist/, the README, the licence and package.json', () => {
    const listed = JSON.parse(npm(['pack', '--dry-run', '--json'], root))[0].files.map((f: { path: string }) => f.path) as string[];
    assert.deepEqual([...new Set(listed.map((p) => p.split('/')[0]))].sort(), ['LICENSE', 'README.md', 'dist', 'package.json']);
    assert.ok(listed.includes('dist/index.d.ts') && listed.includes('dist/index.mjs') && listed.includes('dist/cli.js'));
    assert.ok(
      listed.includes('dist/testing/index.d.ts') && listed.includes('dist/testing/index.mjs') && listed.includes('dist/testing/index.js'),
    );
  });

  it('states Node 20+ and its peers', () => {
    assert.match(rootPkg.engines.node, /^>=20/);
    assert.ok(rootPkg.peerDependencies.express.includes('^4.21.0') && rootPkg.peerDependencies.express.includes('^5'));
    assert.equal(rootPkg.peerDependenciesMeta.redis.optional, true);
  });

  for (const file of ['app.cjs', 'app.mjs']) {
    it(`works from a ${file.endsWith('cjs') ? 'CommonJS' : 'ES module'} consumer`, () => {
      assert.equal(execFileSync(process.execPath, [file], { cwd: dir, encoding: 'utf8' }).trim(), '200 200 +14155550123');
    });
  }

  for (const file of ['testing.cjs', 'testing.mjs']) {
    it(`runs a ${file.endsWith('cjs') ? 'CommonJS' : 'ES module'} consumer's test against express-passwordless-sms/testing`, () => {
      assert.equal(execFileSync(process.execPath, [file], { cwd: dir, encoding: 'utf8' }).trim(), '200 200 1');
    });
  }

  it('type-checks a strict TypeScript consumer (the root and /testing), and rejects wrong options at compile time', () => {
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8' });
  });

  it('runs the preview bin through npx', () => {
    fs.writeFileSync(path.join(dir, 'message.liquid'), 'Code {{ code }}');
    const out = npm(['exec', '--offline', '--', 'express-passwordless-sms', 'preview', '--template', 'message.liquid'], dir);
    assert.match(out, /Code 482190/);
  });
});
