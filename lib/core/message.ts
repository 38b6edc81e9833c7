/**
 * The message for one login: the template chosen by language, rendered with the Auth0
 * variables, with the WebOTP line appended, and refused when too long for an SMS. The
 * middleware and the preview CLI both call this, so the CLI shows exactly what is sent.
 */
import { fail } from '../errors';
import type { Config } from '../config/options';
import { optionError } from '../config/validate';
import { pickLanguage, requestLanguage, type LanguageHeaders } from './language';
import { analyseSms, ucs2Culprits } from './segments';
import { MAX_SMS_BODY, type RenderFn } from './template';

export interface MessageInput {
  applicationName: string;
  /** E.164. */
  phone: string;
  code: string;
  headers: LanguageHeaders;
}

export interface Message {
  body: string;
  /** What the template saw as `request_language` (and the start answer's `request_language`). */
  requestLanguage: string;
  /** The language of the template that rendered. */
  language: string;
  /** The option that rendered: `template` or `templates.<language>`. */
  template: string;
}

/** The WebOTP line (https://wicg.github.io/sms-one-time-codes/): browsers autofill the code only on `domain`. */
export function webOtpLine(domain: string, code: string): string {
  return `@${domain} #${code}`;
}

type MessageConfig = Pick<Config, 'render' | 'renderOption' | 'renderByLanguage' | 'languages' | 'defaultLanguage' | 'webOtpDomain'>;

/** The template that renders for these headers: a language's own from `templates`, else `template` (in `defaultLanguage`). */
function templateFor(config: MessageConfig, headers: LanguageHeaders): { language: string; render: RenderFn; option: string } {
  const picked = config.renderByLanguage.size > 0 ? pickLanguage(headers, config.languages) : undefined;
  const own = picked === undefined ? undefined : config.renderByLanguage.get(picked);
  return own && picked !== undefined
    ? { language: picked, render: own, option: `templates.${picked}` }
    : { language: config.defaultLanguage, render: config.render, option: config.renderOption };
}

/** One template rendered with the Auth0 variables. */
function renderText(render: RenderFn, applicationName: string, phone: string, code: string, language: string): string {
  return render({ code, password: code, phone_number: phone, application: { name: applicationName }, request_language: language });
}

/** The message: the template's text, plus the WebOTP line when configured. */
function withWebOtp(config: MessageConfig, text: string, code: string): string {
  return config.webOtpDomain ? `${text.trimEnd()}\n\n${webOtpLine(config.webOtpDomain, code)}` : text;
}

/** One template rendered with the Auth0 variables, plus the WebOTP line when configured. */
function renderWith(
  config: MessageConfig,
  render: RenderFn,
  applicationName: string,
  phone: string,
  code: string,
  language: string,
): string {
  return withWebOtp(config, renderText(render, applicationName, phone, code, language), code);
}

export function composeMessage(config: MessageConfig, input: MessageInput): Message {
  const { language, render, option } = templateFor(config, input.headers);
  const seen = requestLanguage(input.headers);
  let text: string;
  try {
    text = renderText(render, input.applicationName, input.phone, input.code, seen);
  } catch {
    // liquidjs errors can quote the context; the code must not reach a client or a log.
    throw fail('templateFailed');
  }
  // A template proven at construction can still branch its code away for some language it was
  // not tried with: an SMS without the code would be paid for, counted, and useless to read
  // (the WebOTP line holds it for autofill, not for the reader).
  if (!text.includes(input.code)) throw fail('templateWithoutCode');
  const body = withWebOtp(config, text, input.code);
  if (body.length > MAX_SMS_BODY) throw fail('messageTooLong', { length: body.length, max: MAX_SMS_BODY });
  return { body, requestLanguage: seen, language, template: option };
}

/** Each template (the fallback and each language's) rendered with sample values, under its option's name. */
function sampleMessages(config: MessageConfig & Pick<Config, 'otp'>, applicationName: string): Array<{ name: string; text: string }> {
  const code = '0'.repeat(config.otp.length);
  const sample = (name: string, render: RenderFn, language: string) => ({
    name,
    text: renderWith(config, render, applicationName, '+14155550123', code, language),
  });
  return [
    sample(config.renderOption, config.render, config.defaultLanguage),
    ...[...config.renderByLanguage].map(([language, render]) => sample(`templates.${language}`, render, language)),
  ];
}

/**
 * Refuses, at construction, a template that renders past the longest SMS body (WebOTP line
 * included) even with sample values and the shortest client name: every start would fail.
 */
export function checkMessageLengths(config: MessageConfig & Pick<Config, 'otp'>, shortestApplicationName: string): void {
  for (const { name, text } of sampleMessages(config, shortestApplicationName)) {
    if (text.length > MAX_SMS_BODY)
      throw optionError(
        name,
        `renders to ${text.length} characters, more than the ${MAX_SMS_BODY} an SMS may carry, so every start would fail: shorten it (npx express-passwordless-sms preview shows it).`,
      );
  }
}

/**
 * Messages that would take more than one SMS segment (each segment is billed), rendered
 * with sample values for the fallback template and each language: one warning per template.
 */
export function segmentWarnings(config: MessageConfig & Pick<Config, 'otp'>, applicationName: string): string[] {
  const warnings: string[] = [];
  for (const { name, text } of sampleMessages(config, applicationName)) {
    const analysis = analyseSms(text);
    if (analysis.segments > 1) {
      const why = analysis.encoding === 'UCS-2' ? ` in UCS-2 because of ${ucs2Culprits(analysis)}` : '';
      warnings.push(
        `\`${name}\` renders to ${analysis.segments} SMS segments (${analysis.length} ${analysis.encoding} characters${why}); every segment is billed. Preview it with: npx express-passwordless-sms preview`,
      );
    }
  }
  return warnings;
}
