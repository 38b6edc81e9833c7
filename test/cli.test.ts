import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const fixture = path.join(root, 'test', 'fixtures', 'preview-config.js');

function preview(...args: string[]) {
  // Run through npx as a user would: the package's own bin.
  const result = spawnSync(process.execPath, [path.join(root, 'dist', 'cli.js'), 'preview', ...args], { encoding: 'utf8', cwd: root });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function templateFile(text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pwl-cli-')), 'message.liquid');
  fs.writeFileSync(file, text);
  return file;
}

describe('express-passwordless-sms preview', () => {
  it('is declared as the package bin', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    assert.equal(pkg.bin['express-passwordless-sms'], 'dist/cli.js');
    assert.match(fs.readFileSync(path.join(root, 'dist', 'cli.js'), 'utf8'), /^#!\/usr\/bin\/env node/);
  });

  it('renders a template file with the request language, phone and app', () => {
    const file = templateFile(
      "{% if request_language contains 'fr' %}Code {{ application.name }} : {{ code }}{% else %}{{ application.name }} code {{ code }} for {{ phone_number }}{% endif %}",
    );
    const fr = preview('--template', file, '--lang', 'fr-FR', '--app', 'Acme');
    assert.equal(fr.status, 0, fr.stderr);
    assert.match(fr.stdout, /^Code Acme : 482190$/m);
    assert.match(fr.stdout, /Encoding: GSM-7/);
    assert.match(fr.stdout, /Length: 18 characters · 1 segment/);
    const en = preview('--template', file, '--phone', '+33612345678');
    assert.match(en.stdout, /^My App code 482190 for \+33612345678$/m);
  });

  it('names the characters that force UCS-2 and warns past one segment', () => {
    const out = preview('--template', templateFile(`Votre code : {{ code }} ${'ê'.repeat(70)}`)).stdout;
    assert.match(out, /Encoding: UCS-2 \(UCS-2 because of: "ê"\)/);
    assert.match(out, /Length: 90 characters · 2 segments/);
    assert.match(out, /Warning: this message takes 2 SMS segments/);
  });

  it('negotiates accept-language against a config module, with region fallback', () => {
    const out = preview('--config', fixture, '--accept-language', 'pt-BR,pt;q=0.9');
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, /Template: templates\.pt/);
    assert.match(out.stdout, /^Código Acme: 482190$/m);
  });

  it('renders every language side by side with --all-languages', () => {
    const out = preview('--config', fixture, '--all-languages').stdout;
    assert.deepEqual(
      [...out.matchAll(/^Template: (\S+)/gm)].map((m) => m[1]),
      ['template', 'templates.fr', 'templates.pt'],
    );
  });

  it('renders `template` as the fallback next to a templates entry for defaultLanguage with --all-languages', () => {
    const config = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pwl-cli-')), 'config.js');
    fs.writeFileSync(
      config,
      `module.exports = { clients: [{ clientId: 'web', name: 'Acme' }], template: 'Fallback {{ code }}', templates: { en: 'English {{ code }}', fr: 'Francais {{ code }}' } };`,
    );
    const out = preview('--config', config, '--all-languages');
    assert.equal(out.status, 0, out.stderr);
    assert.deepEqual(
      [...out.stdout.matchAll(/^Template: (\S+)/gm)].map((m) => m[1]),
      ['template', 'templates.en', 'templates.fr'],
    );
    assert.match(out.stdout, /^Fallback 482190$/m);
    assert.match(preview('--config', config, '--lang', 'ja').stdout, /^Template: template\b[^]*^Fallback 482190$/m);
  });

  it('appends the WebOTP line', () => {
    const out = preview('--template', templateFile('Code {{ code }}'), '--web-otp', 'example.com').stdout;
    assert.match(out, /Code 482190\n\n@example\.com #482190/);
  });

  it('renders md_with_macros', () => {
    const out = preview(
      '--template',
      templateFile('@@application.name@@: @@password@@'),
      '--syntax',
      'md_with_macros',
      '--app',
      'X',
    ).stdout;
    assert.match(out, /^X: 482190$/m);
  });

  it('exits 1 with the line and column of a Liquid syntax error', () => {
    const out = preview('--template', templateFile('Hello\nCode {{ code '));
    assert.equal(out.status, 1);
    assert.match(out.stderr, /line:2, col:6/);
  });

  it('exits 1 for a template that never outputs the code, and 2 on a usage error', () => {
    assert.equal(preview('--template', templateFile('Hello')).status, 1);
    assert.equal(preview().status, 2);
    assert.equal(spawnSync(process.execPath, [path.join(root, 'dist', 'cli.js'), 'render'], { encoding: 'utf8' }).status, 2);
  });

  it("refuses a --config module that exports none of the template options (the app's own module), saying what it exports", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pwl-cli-')), 'app.js');
    fs.writeFileSync(file, 'module.exports = { createApp() {} };\n');
    const out = preview('--config', file, '--lang', 'fr');
    assert.equal(out.status, 2);
    assert.match(out.stderr, /exports none of the options the preview reads .*it exports createApp/);
    assert.equal(out.stdout, '', "no default template passed off as the app's");
  });
});
