/**
 * Message templates: Liquid (hardened) or Auth0's older `md_with_macros`, parsed once at
 * construction and rendered synchronously per message. A template that is only text and
 * `{{ variable }}` outputs is compiled to a concatenation with the same output as Liquid
 * (tested against it): a twentieth of Liquid's cost on every start.
 */
import { Liquid, type Template } from 'liquidjs';
import { optionError } from '../config/validate';

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

/** Every variable a template may name, and how to read it. */
const VARIABLES: Readonly<Record<string, (v: TemplateVariables) => string>> = Object.freeze({
  code: (v) => v.code,
  password: (v) => v.password,
  phone_number: (v) => v.phone_number,
  'application.name': (v) => v.application.name,
  request_language: (v) => v.request_language,
});
const KNOWN = Object.keys(VARIABLES);
/** Names a Liquid template may also read as a whole (`{% if application %}`). */
const KNOWN_ROOTS = new Set([...KNOWN, 'application']);

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

/** Liquid's own `.size` of a text variable (`{% if request_language.size > 0 %}`), which templates carried over from Auth0 use. */
function sizeOfKnown(name: string): boolean {
  return name.endsWith('.size') && Object.hasOwn(VARIABLES, name.slice(0, -'.size'.length));
}

function unknownVariable(option: string, name: string, syntax: TemplateSyntax): never {
  const list = syntax === 'liquid' ? KNOWN.map((k) => `{{ ${k} }}`) : KNOWN.map((k) => `@@${k}@@`);
  throw optionError(
    option,
    `uses the unknown variable ${syntax === 'liquid' ? name : `@@${name}@@`}, which would render as empty text. Known variables: ${list.join(', ')}.`,
  );
}

/** Literal text and variable readers, joined: what both the macro syntax and plain Liquid compile to. */
function concatenation(parts: ReadonlyArray<string | ((v: TemplateVariables) => string)>): RenderFn {
  return function renderParts(v) {
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : p(v);
    return out;
  };
}

const MACRO = /@@([A-Za-z_.]+)@@/g;

function compileMacros(source: string, option: string): RenderFn {
  const parts: Array<string | ((v: TemplateVariables) => string)> = [];
  let last = 0;
  for (const match of source.matchAll(MACRO)) {
    const name = match[1] as string;
    const read = VARIABLES[name];
    if (!read) unknownVariable(option, name, 'md_with_macros');
    parts.push(source.slice(last, match.index), read);
    last = (match.index ?? 0) + match[0].length;
  }
  parts.push(source.slice(last));
  return concatenation(parts);
}

/**
 * Auth0's `md_with_macros`: `@@variable@@` macros in text. Auth0 runs Liquid tags in it too, and
 * its multi-language example is written so (`{% if request_language contains 'fr' %}…@@password@@
 * {% endif %}`): a template with a `{% tag %}` is Liquid whose macros are its variables. Without
 * one, `{{ … }}` stays text, as before.
 */
function compileAuth0Macros(engine: Liquid, source: string, option: string): RenderFn {
  const macros = compileMacros(source, option);
  if (!/\{%/.test(source)) return macros;
  return compileLiquid(
    engine,
    source.replace(MACRO, (_, name: string) => `{{ ${name} }}`),
    option,
  );
}

/** `{{ name }}` with nothing else inside (no filters, no tags). */
const PLAIN_OUTPUT = /\{\{-?\s*([A-Za-z_][\w.]*)\s*-?\}\}/g;

/**
 * The concatenation equivalent to a Liquid template made only of text and plain outputs,
 * or undefined when the template uses anything else (tags, filters, whitespace control).
 */
function plainLiquid(source: string): RenderFn | undefined {
  const parts: Array<string | ((v: TemplateVariables) => string)> = [];
  let last = 0;
  for (const match of source.matchAll(PLAIN_OUTPUT)) {
    if (match[0].includes('-')) return undefined;
    const read = VARIABLES[match[1] as string];
    if (!read) return undefined;
    parts.push(source.slice(last, match.index), read);
    last = (match.index ?? 0) + match[0].length;
  }
  parts.push(source.slice(last));
  // Any other Liquid markup left in the text means the template needs the engine.
  if (parts.some((p) => typeof p === 'string' && /\{\{|\{%|\}\}|%\}/.test(p))) return undefined;
  return concatenation(parts);
}

/** Runs a construction step; a failure becomes a configuration error naming the template and the fix. */
function orOptionError<T>(option: string, step: () => T, explain: (message: string) => string): T {
  try {
    return step();
  } catch (err) {
    throw optionError(option, explain((err as Error).message));
  }
}

function compileLiquid(engine: Liquid, source: string, option: string): RenderFn {
  const parsed: Template[] = orOptionError(
    option,
    () => engine.parse(source),
    (m) => `is not a valid Liquid template: ${m}. Fix the template syntax (see https://liquidjs.com/tutorials/intro-to-liquid.html).`,
  );
  // Static analysis follows {% include %} and {% render %}, which have no files to read.
  const names = orOptionError(
    option,
    () => engine.globalFullVariablesSync(parsed),
    (m) => `fails to render: ${m}. Templates cannot include files; write the whole message in the template.`,
  );
  for (const name of names) {
    if (!KNOWN_ROOTS.has(name) && !sizeOfKnown(name)) unknownVariable(option, `{{ ${name} }}`, 'liquid');
  }
  return plainLiquid(source) ?? ((v) => String(engine.renderSync(parsed, v)));
}

/** The Liquid renderer without the fast path, for tests that prove both give the same text. */
export function liquidRenderer(engine: Liquid, source: string): RenderFn {
  const parsed = engine.parse(source);
  return (v) => String(engine.renderSync(parsed, v));
}

/**
 * Parses a template and proves at construction that it renders and outputs the code, so a
 * broken template is found by the developer, not by a user waiting for an SMS.
 */
export function compileTemplate(engine: Liquid, source: string, syntax: TemplateSyntax, option: string, sampleLanguage = ''): RenderFn {
  if (syntax === 'liquid' && MACRO.test(source)) {
    MACRO.lastIndex = 0;
    throw optionError(
      option,
      "uses Auth0's @@macro@@ form under Liquid syntax. Set templateSyntax: 'md_with_macros', or write {{ code }} instead of @@password@@.",
    );
  }
  const render = syntax === 'liquid' ? compileLiquid(engine, source, option) : compileAuth0Macros(engine, source, option);
  const sampleCode = '90210';
  // Its own language, and none at all (a request without language headers, the commonest).
  for (const language of new Set([sampleLanguage, ''])) {
    let sample: string;
    try {
      sample = render({
        code: sampleCode,
        password: sampleCode,
        phone_number: '+14155550123',
        application: { name: 'Sample App' },
        request_language: language,
      });
    } catch (err) {
      throw optionError(option, `fails to render: ${(err as Error).message}. Fix the template.`);
    }
    if (!sample.includes(sampleCode)) throw optionError(option, `never outputs the code${noCodeHint(source, syntax, option, language)}`);
  }
  return render;
}

/** The code in either syntax's own form: `{{ code }}`/`{{ password }}` (filters allowed) or `@@code@@`/`@@password@@`. */
const LIQUID_CODE = /\{\{-?\s*(?:code|password)\b/;
const MACRO_CODE = /@@(?:code|password)@@/;

/**
 * Why a template rendered no code, and its fix: a code that is there but inside branches the
 * sample request did not take (Auth0's own example has one `{% if %}` per language and no
 * `{% else %}`), Liquid's form under md_with_macros (plain text there), or no code at all.
 */
function noCodeHint(source: string, syntax: TemplateSyntax, option: string, language: string): string {
  const own = syntax === 'liquid' ? LIQUID_CODE : MACRO_CODE;
  if (own.test(source)) {
    const when =
      language === ''
        ? 'is empty (a request without language headers)'
        : `is ${JSON.stringify(language)} (${option === 'template' ? '`defaultLanguage`' : 'its own language'})`;
    return ` when request_language ${when}: every request must get a branch that outputs it, so give the {% if %} an {% else %} branch with the code, or put the code outside the branches.`;
  }
  if (syntax === 'md_with_macros' && LIQUID_CODE.test(source))
    return ": {{ code }} is plain text under templateSyntax 'md_with_macros'. Write @@password@@, or set templateSyntax: 'liquid' (syntax: 'liquid' on an Auth0 connection).";
  return `. Add ${syntax === 'liquid' ? '{{ code }}' : '@@code@@'} to the message.`;
}
