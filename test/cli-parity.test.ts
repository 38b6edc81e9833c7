/**
 * The preview CLI renders exactly what the middleware sends: the same number format, the
 * same template text (a file's trailing newline included), the same language choice.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { main } from '../lib/cli';
import { lastCode, makeApp, startBody } from './helpers/app';

const SAMPLE = '482190';

function templateFile(text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pwl-cli-')), 'message.liquid');
  fs.writeFileSync(file, text);
  return file;
}

/** The CLI's rendered message (between its two rules), its exit code and its error output. */
function preview(...args: string[]): { status: number; message: string; stderr: string } {
  const out: string[] = [];
  const err: string[] = [];
  const status = main(
    ['preview', ...args],
    (l) => out.push(l),
    (l) => err.push(l),
  );
  // The CLI prints the message as one write between two rules.
  const rule = out.indexOf('─'.repeat(40));
  return { status, message: out[rule + 1] ?? '', stderr: err.join('\n') };
}

/** What the middleware sends for the same template and headers, with the code replaced by the CLI's sample. */
async function sent(template: string, headers: Record<string, string>, phone: string): Promise<string> {
  const t = makeApp({ logger: false, template, clients: [{ clientId: 'app-public', name: 'My App' }] });
  const req = request(t.app).post('/passwordless/start');
  for (const [k, v] of Object.entries(headers)) req.set(k, v);
  await req.send(startBody({ phone_number: phone })).expect(200);
  return (t.outbox.last()?.body ?? '').replace(lastCode(t.outbox), SAMPLE);
}

describe('preview CLI and middleware render alike', () => {
  it('prints the number in E.164, as the middleware sends it', async () => {
    const template = 'Code {{ code }} for {{ phone_number }}';
    const cli = preview('--template', templateFile(template), '--phone', '+33 6 12 34 56 78');
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(cli.message.trimEnd(), await sent(template, {}, '+33 6 12 34 56 78'));
    assert.match(cli.message, /\+33612345678/);
  });

  it("keeps a template file's trailing newline, as the middleware would send it", async () => {
    const template = 'Your code: {{ code }}\n';
    const cli = preview('--template', templateFile(template));
    assert.equal(cli.message, await sent(template, {}, '+14155550123'));
    assert.ok(cli.message.endsWith('\n'));
  });

  it('picks the same template for the same headers', async () => {
    const config = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pwl-cli-')), 'config.js');
    fs.writeFileSync(config, "module.exports = { template: 'Code {{ code }}', templates: { fr: 'Votre code {{ code }}' } };");
    const fr = preview('--config', config, '--accept-language', 'fr-FR,fr;q=0.9');
    assert.equal(fr.message.trim(), 'Votre code 482190');
    const star = preview('--config', config, '--accept-language', '*');
    assert.equal(star.message.trim(), 'Code 482190');
  });

  it('refuses a number the middleware would refuse, as a usage error', () => {
    const cli = preview('--template', templateFile('{{ code }}'), '--phone', '12345');
    assert.equal(cli.status, 2);
    assert.match(cli.stderr, /--phone "12345" is not a valid phone number/);
  });

  it('refuses --template together with --config as a usage error', () => {
    const config = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pwl-cli-')), 'config.js');
    fs.writeFileSync(config, "module.exports = { template: 'Code {{ code }}' };");
    const cli = preview('--template', templateFile('{{ code }}'), '--config', config);
    assert.equal(cli.status, 2);
    assert.match(cli.stderr, /not both/);
  });
});
