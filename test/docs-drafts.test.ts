/**
 * The JavaScript blocks of the documentation drafts (docs/drafts/*.md) run as a user would run
 * them, importing the package by name, so a draft is already checked when it moves into the
 * README.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const drafts = path.join(root, 'docs', 'drafts');
const scratch = path.join(root, 'build', 'drafts');

describe('documentation drafts', function () {
  this.timeout(60_000);
  before(() => {
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.mkdirSync(scratch, { recursive: true });
  });

  const files = fs.existsSync(drafts) ? fs.readdirSync(drafts).filter((f) => f.endsWith('.md')) : [];
  for (const file of files) {
    const text = fs.readFileSync(path.join(drafts, file), 'utf8');
    const blocks = [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m, i) => ({ lang: m[1] ?? '', code: m[2] ?? '', index: i + 1 }));
    for (const block of blocks.filter((b) => b.lang === 'js')) {
      it(`runs ${file} block ${block.index}`, () => {
        const script = path.join(scratch, `${path.basename(file, '.md')}-${block.index}.js`);
        fs.writeFileSync(script, block.code);
        const result = spawnSync(process.execPath, [script], { cwd: root, encoding: 'utf8', timeout: 30_000, env: { ...process.env, NODE_ENV: 'development' } });
        assert.equal(result.status, 0, `exit ${result.status} ${result.signal ?? ''}\n${result.stderr}`);
        assert.equal(result.stderr.replace(/^SMS: .*\n/gm, ''), '', 'no warnings other than the example\'s own');
      });
    }
  }
});
