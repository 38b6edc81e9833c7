/**
 * The message for one request: the template chosen by language, rendered with the Auth0
 * variables, with the WebOTP line appended, and refused when too long for an SMS. Used by
 * the start route and the preview CLI, so the CLI shows exactly what would be sent.
 */
import type { Request } from 'express';
import { ErrorCodes, PasswordlessError } from './errors';
import { pickLanguage } from './language';
import type { Config } from './options';
import { analyseSms, ucs2Culprits } from './segments';
import { MAX_SMS_BODY, type RenderFn } from './template';

export interface MessageInput {
  applicationName: string;
  phone: string;
  code: string;
  /** The raw language header (`request_language`). */
  language: string;
}

/** The WebOTP line (https://wicg.github.io/sms-one-time-codes/): browsers autofill the code only on `domain`. */
export function webOtpLine(domain: string, code: string): string {
  return `@${domain} #${code}`;
}

/** The language tag of the template that renders for this request (undefined: `template`). */
export function templateLanguage(config: Config, req: Request): string | undefined {
  return config.languages.length > 0 ? pickLanguage(req, config.languages) : undefined;
}

/** One template rendered with the Auth0 variables, plus the WebOTP line when configured. */
function renderWith(config: Config, render: RenderFn, input: MessageInput): string {
  const body = render({
    code: input.code,
    password: input.code,
    phone_number: input.phone,
    application: { name: input.applicationName },
    request_language: input.language,
  });
  return config.webOtpDomain ? `${body.trimEnd()}\n\n${webOtpLine(config.webOtpDomain, input.code)}` : body;
}

export function composeMessage(config: Config, req: Request, input: MessageInput): string {
  const tag = templateLanguage(config, req);
  const render = (tag && config.renderByLanguage.get(tag)) || config.render;
  let body: string;
  try {
    body = renderWith(config, render, input);
  } catch {
    // liquidjs errors can quote the context; the code must not reach a client or a log.
    throw new PasswordlessError(ErrorCodes.serverError, 500, 'The message template failed to render.');
  }
  if (body.length > MAX_SMS_BODY) {
    throw new PasswordlessError(
      ErrorCodes.smsProviderError,
      400,
      `The message is ${body.length} characters long; an SMS may have at most ${MAX_SMS_BODY}. Shorten the template. (Code: 21617)`,
    );
  }
  return body;
}

/**
 * Messages that would take more than one SMS segment (each segment is billed), rendered
 * with sample values for the fallback template and each language: one warning per template.
 */
export function segmentWarnings(config: Config, applicationName: string): string[] {
  const sample = { applicationName, phone: '+14155550123', code: '0'.repeat(config.otp.length) };
  const templates: Array<[string, RenderFn, string]> = [
    ['template', config.render, ''],
    ...config.languages.map((tag): [string, RenderFn, string] => [`templates.${tag}`, config.renderByLanguage.get(tag) ?? config.render, tag]),
  ];
  const warnings: string[] = [];
  for (const [name, render, language] of templates) {
    const analysis = analyseSms(renderWith(config, render, { ...sample, language }));
    if (analysis.segments > 1) {
      const why = analysis.encoding === 'UCS-2' ? ` in UCS-2 because of ${ucs2Culprits(analysis)}` : '';
      warnings.push(`\`${name}\` renders to ${analysis.segments} SMS segments (${analysis.length} ${analysis.encoding} characters${why}); every segment is billed. Preview it with: npx express-passwordless-sms preview`);
    }
  }
  return warnings;
}
