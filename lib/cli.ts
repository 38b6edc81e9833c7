#!/usr/bin/env node
/**
 * `express-passwordless-sms preview`: renders a message template exactly as the middleware
 * would (same engine, same language negotiation, same WebOTP line) and reports its encoding,
 * length and SMS segments.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PasswordlessError } from './errors';
import { resolveOptions, type Config } from './config/options';
import { composeMessage } from './core/message';
import { parsePhone } from './core/phone';
import { analyseSms, ucs2Culprits } from './core/segments';
import type { PasswordlessOptions } from './types';

const USAGE = `Usage: express-passwordless-sms preview [options]

Renders an SMS template as the middleware would and counts its segments.

Template (one of):
  --template FILE          a file holding the template text
  --config MODULE          a module exporting the passwordless options (template, templates, templateSyntax, webOtp, otp, clients)

Request:
  --lang TAG               the x-request-language header (e.g. fr-FR)
  --accept-language VALUE  the accept-language header (e.g. "nl-BE,nl;q=0.9")
  --phone NUMBER           the phone number (default +14155550123)
  --app NAME               application.name (default: the first client's name, or "My App")
  --syntax SYNTAX          liquid (default) or md_with_macros
  --web-otp DOMAIN         append the WebOTP line for DOMAIN
  --all-languages          render the fallback and every language of \`templates\`
  -h, --help               this text

Exits 1 when the template does not parse or render, 2 on a usage error.`;

const SAMPLE_DIGITS = '4821903756';
/** The options a --config module is read for. */
const PREVIEWED = ['template', 'templates', 'templateSyntax', 'webOtp', 'otp', 'clients', 'defaultLanguage'];

interface Loaded {
  options: Partial<PasswordlessOptions>;
  source: string;
}

function load(values: Record<string, string | boolean | undefined>): Loaded {
  if (typeof values.config === 'string' && typeof values.template === 'string') {
    throw new UsageError("Give --template FILE or --config MODULE, not both: the config's templates would be ignored.");
  }
  if (typeof values.config === 'string') {
    const file = path.resolve(values.config);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exported = require(file);
    const options = (
      exported && typeof exported === 'object' && 'default' in exported ? exported.default : exported
    ) as Partial<PasswordlessOptions>;
    // A module of the app itself (exporting createApp, a router…) would preview the default
    // template without a word: say what it exports instead.
    if (!options || typeof options !== 'object' || !PREVIEWED.some((key) => key in options)) {
      const keys = options && (typeof options === 'object' || typeof options === 'function') ? Object.keys(options) : [];
      throw new UsageError(
        `${values.config} exports none of the options the preview reads (${PREVIEWED.join(', ')}); it exports ${keys.length > 0 ? keys.join(', ') : typeof options}. Export the options object you give passwordless(), e.g. module.exports = { template, templates }.`,
      );
    }
    return { options, source: file };
  }
  if (typeof values.template === 'string') {
    const file = path.resolve(values.template);
    // Read as the middleware would get it from fs.readFileSync: a trailing newline is sent too.
    return { options: { template: fs.readFileSync(file, 'utf8') }, source: file };
  }
  throw new UsageError('Give a template with --template FILE or --config MODULE.');
}

class UsageError extends Error {}

function buildConfig(loaded: Loaded, values: Record<string, string | boolean | undefined>): { config: Config; app: string } {
  const o = loaded.options;
  const app = typeof values.app === 'string' ? values.app : (o.clients?.[0]?.name ?? 'My App');
  const config = resolveOptions({
    secret: 'preview-secret-that-never-signs-anything-real',
    sender: { send: async () => ({}) },
    clients: [{ clientId: 'preview', name: app }],
    ...(o.template !== undefined ? { template: o.template } : {}),
    ...(o.templates !== undefined ? { templates: o.templates } : {}),
    ...(typeof values.syntax === 'string'
      ? { templateSyntax: values.syntax as 'liquid' }
      : o.templateSyntax
        ? { templateSyntax: o.templateSyntax }
        : {}),
    ...(typeof values['web-otp'] === 'string' ? { webOtp: { domain: values['web-otp'] } } : o.webOtp ? { webOtp: o.webOtp } : {}),
    ...(o.otp?.length ? { otp: { length: o.otp.length } } : {}),
    ...(o.defaultLanguage !== undefined ? { defaultLanguage: o.defaultLanguage } : {}),
    rateLimits: false,
    logger: false,
  });
  return { config, app };
}

function report(config: Config, app: string, phone: string, headers: Record<string, string>, out: (line: string) => void): void {
  const message = composeMessage(config, {
    applicationName: app,
    phone,
    code: SAMPLE_DIGITS.slice(0, config.otp.length),
    headers: { requestLanguage: headers['x-request-language'], acceptLanguage: headers['accept-language'] },
  });
  const text = message.body;
  const a = analyseSms(text);
  out(`Template: ${message.template}${message.requestLanguage ? `   (request language: ${message.requestLanguage})` : ''}`);
  out('─'.repeat(40));
  out(text);
  out('─'.repeat(40));
  const why = a.encoding === 'UCS-2' ? ` (UCS-2 because of: ${ucs2Culprits(a)})` : '';
  out(`Encoding: ${a.encoding}${why}`);
  out(`Length: ${a.length} characters · ${a.segments} segment${a.segments === 1 ? '' : 's'}`);
  if (a.segments > 1)
    out(
      `Warning: this message takes ${a.segments} SMS segments; each is billed. Shorten it${a.encoding === 'UCS-2' ? ' or avoid the characters that force UCS-2' : ''}.`,
    );
}

/** The number as the middleware would send it (E.164), or a usage error, as the start route refuses it. */
function readPhone(value: string | boolean | undefined): string {
  if (typeof value !== 'string') return '+14155550123';
  const phone = parsePhone(value, false);
  if (!phone)
    throw new UsageError(`--phone ${JSON.stringify(value)} is not a valid phone number in international format (like +14155550123).`);
  return phone.e164;
}

export function main(
  argv: string[],
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  err: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        template: { type: 'string' },
        config: { type: 'string' },
        lang: { type: 'string' },
        'accept-language': { type: 'string' },
        phone: { type: 'string' },
        app: { type: 'string' },
        syntax: { type: 'string' },
        'web-otp': { type: 'string' },
        'all-languages': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    err((e as Error).message);
    err(USAGE);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out(USAGE);
    return 0;
  }
  if (positionals[0] !== 'preview' || positionals.length > 1) {
    err(USAGE);
    return 2;
  }
  try {
    const loaded = load(values);
    const { config, app } = buildConfig(loaded, values);
    const phone = readPhone(values.phone);
    if (values['all-languages']) {
      report(config, app, phone, {}, out);
      for (const tag of config.renderByLanguage.keys()) {
        out('');
        report(config, app, phone, { 'x-request-language': tag }, out);
      }
      return 0;
    }
    const headers: Record<string, string> = {};
    if (typeof values.lang === 'string') headers['x-request-language'] = values.lang;
    if (typeof values['accept-language'] === 'string') headers['accept-language'] = values['accept-language'];
    report(config, app, phone, headers, out);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(e.message);
      err(USAGE);
      return 2;
    }
    err(e instanceof PasswordlessError ? e.message : `Cannot render: ${(e as Error).message}`);
    return 1;
  }
}

if (require.main === module) {
  // A closed pipe (`| head`) is the reader's choice, not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
  process.exitCode = main(process.argv.slice(2));
}
