/**
 * The message for one request: the template chosen by language, rendered with the Auth0
 * variables, with the WebOTP line appended, and refused when too long for an SMS. Used by
 * the start route and the preview CLI, so the CLI shows exactly what would be sent.
 */
import type { Request } from 'express';
import { ErrorCodes, PasswordlessError } from './errors';
import { pickLanguage } from './language';
import type { Config } from './options';
import { analyseSms } from './segments';
import { MAX_SMS_BODY } from './template';

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

export function composeMessage(config: Config, req: Request, input: MessageInput): string {
  const tag = templateLanguage(config, req);
  const render = (tag && config.renderByLanguage.get(tag)) || config.render;
  let body: string;
  try {
    body = render({
      code: input.code,
      password: input.code,
      phone_number: input.phone,
      application: { name: input.applicationName },
      request_language: input.language,
    });
  } catch {
    // liquidjs errors can quote the context; the code must not reach a client or a log.
    throw new PasswordlessError(ErrorCodes.serverError, 500, 'The message template failed to render.');
  }
  if (config.webOtpDomain) body = `${body.trimEnd()}\n\n${webOtpLine(config.webOtpDomain, input.code)}`;
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
  const code = '0'.repeat(config.otp.length);
  const sample = { code, password: code, phone_number: '+14155550123', application: { name: applicationName } };
  const templates: Array<[string, (typeof config)['render'], string]> = [
    ['template', config.render, ''],
    ...config.languages.map((tag): [string, (typeof config)['render'], string] => [`templates.${tag}`, config.renderByLanguage.get(tag) ?? config.render, tag]),
  ];
  const warnings: string[] = [];
  for (const [name, render, language] of templates) {
    let body = render({ ...sample, request_language: language });
    if (config.webOtpDomain) body = `${body.trimEnd()}\n\n${webOtpLine(config.webOtpDomain, code)}`;
    const analysis = analyseSms(body);
    if (analysis.segments > 1) {
      const why = analysis.encoding === 'UCS-2' ? ` in UCS-2 because of ${analysis.nonGsmCharacters.map((c) => JSON.stringify(c)).join(' ')}` : '';
      warnings.push(`\`${name}\` renders to ${analysis.segments} SMS segments (${analysis.length} ${analysis.encoding} characters${why}); every segment is billed. Preview it with: npx express-passwordless-sms preview`);
    }
  }
  return warnings;
}
