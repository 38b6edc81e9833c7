/**
 * Message templates: Liquid (hardened) or Auth0's older `md_with_macros`, parsed once at
 * construction and rendered synchronously per message.
 */
import { Liquid, type Template } from 'liquidjs';
import { optionError } from './errors';

/** What a template sees. `code` and `password` are the same value, as in Auth0. */
export interface TemplateVariables {
  code: string;
  password: string;
  phone_number: string;
  application: { name: string };
  request_language: string;
}

export type TemplateSyntax = 'liquid' | 'md_with_macros';
export type RenderFn = (variables: TemplateVariables) => string;

export const DEFAULT_TEMPLATE = 'Your verification code is: {{ code }}';

/** Twilio refuses longer bodies (error 21617); we refuse them before sending. */
export const MAX_SMS_BODY = 1600;

/**
 * A Liquid engine that cannot reach the file system or prototypes and cannot be made to
 * parse, loop or allocate without bound. `templates: {}` replaces the file system with an
 * empty in-memory map, so `{% include %}` and `{% render %}` fail instead of reading files.
 */
export function createLiquid(): Liquid {
  return new Liquid({
    templates: {},
    relativeReference: false,
    dynamicPartials: false,
    ownPropertyOnly: true,
    strictFilters: true,
    strictVariables: false,
    parseLimit: 20_000,
    renderLimit: 50,
    memoryLimit: 1_000_000,
    cache: false,
  });
}

const MACRO = /@@([A-Za-z_.]+)@@/g;
const MACROS: Record<string, (v: TemplateVariables) => string> = {
  password: (v) => v.password,
  code: (v) => v.code,
  'application.name': (v) => v.application.name,
  phone_number: (v) => v.phone_number,
  request_language: (v) => v.request_language,
};

function compileMacros(source: string, option: string): RenderFn {
  const parts: Array<string | ((v: TemplateVariables) => string)> = [];
  let last = 0;
  for (const match of source.matchAll(MACRO)) {
    const name = match[1] as string;
    const macro = MACROS[name];
    if (!macro) {
      throw optionError(option, `uses the unknown macro @@${name}@@. Known macros: ${Object.keys(MACROS).map((m) => `@@${m}@@`).join(', ')}.`);
    }
    parts.push(source.slice(last, match.index), macro);
    last = (match.index ?? 0) + match[0].length;
  }
  parts.push(source.slice(last));
  return (v) => parts.map((p) => (typeof p === 'string' ? p : p(v))).join('');
}

function compileLiquid(engine: Liquid, source: string, option: string): RenderFn {
  let parsed: Template[];
  try {
    parsed = engine.parse(source);
  } catch (err) {
    throw optionError(option, `is not a valid Liquid template: ${(err as Error).message}. Fix the template syntax (see https://liquidjs.com/tutorials/intro-to-liquid.html).`);
  }
  return (v) => String(engine.renderSync(parsed, v));
}

/**
 * Parses a template and proves at construction that it renders and outputs the code, so a
 * broken template is found by the developer, not by a user waiting for an SMS.
 */
export function compileTemplate(engine: Liquid, source: string, syntax: TemplateSyntax, option: string, sampleLanguage = ''): RenderFn {
  const render = syntax === 'md_with_macros' ? compileMacros(source, option) : compileLiquid(engine, source, option);
  const sampleCode = '90210';
  let sample: string;
  try {
    sample = render({
      code: sampleCode,
      password: sampleCode,
      phone_number: '+14155550123',
      application: { name: 'Sample App' },
      request_language: sampleLanguage,
    });
  } catch (err) {
    throw optionError(option, `fails to render: ${(err as Error).message}. Fix the template.`);
  }
  if (!sample.includes(sampleCode)) {
    const hint = syntax === 'liquid' ? '{{ code }}' : '@@code@@';
    throw optionError(option, `never outputs the code. Add ${hint} to the message.`);
  }
  return render;
}
