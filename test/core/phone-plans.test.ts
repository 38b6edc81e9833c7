/**
 * The E.164 fast path against libphonenumber-js itself: on a corpus of numbers for every
 * country (mutations of each country's example mobile number, and random numbers behind
 * every calling code), every answer it gives is libphonenumber-js's answer, and it answers
 * for nearly every valid number (else the speed-up is gone).
 */
import assert from 'node:assert/strict';
import { getCountries, getExampleNumber, parsePhoneNumberFromString, type CountryCode, type Examples } from 'libphonenumber-js/max';
import { readE164 } from '../../lib/core/phone-plans';
import { fastPathState, parsePhone } from '../../lib/core/phone';

// Each country's example mobile number (the subpath has no type declarations).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const examples = require('libphonenumber-js/mobile/examples') as Examples;

/** A seeded generator: the same corpus on every run. */
function digitsFrom(seed: number) {
  let state = seed;
  const next = (n: number) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
  return { next, digits: (k: number) => Array.from({ length: k }, () => next(10)).join('') };
}

function corpus(): string[] {
  const { next, digits } = digitsFrom(20261130);
  const numbers: string[] = [];
  for (const country of getCountries()) {
    const example = getExampleNumber(country as CountryCode, examples)?.number;
    if (!example) continue;
    // The example with its tail redrawn, one digit shorter to one longer: valid and invalid
    // numbers of every type the country's prefixes lead to.
    for (let k = 0; k < 150; k++) {
      const keep = 2 + next(example.length - 2);
      numbers.push(example.slice(0, keep) + digits(example.length - keep + next(3) - 1));
    }
  }
  const callingCodes = [
    ...new Set(getCountries().map((c) => parsePhoneNumberFromString(getExampleNumber(c, examples)?.number ?? '')?.countryCallingCode)),
  ].filter((c): c is string => c !== undefined);
  for (let k = 0; k < 30_000; k++) numbers.push(`+${callingCodes[next(callingCodes.length)]}${digits(4 + next(11))}`);
  return numbers;
}

function library(input: string) {
  const parsed = parsePhoneNumberFromString(input, { extract: false });
  const type = parsed?.getType();
  return parsed && (type !== undefined || parsed.isValid())
    ? { e164: parsed.number, country: parsed.country, callingCode: parsed.countryCallingCode, type }
    : undefined;
}

describe('phone number fast path', () => {
  const numbers = corpus();

  it("gives libphonenumber-js's country, calling code and type for every number it answers, and answers nearly every valid one", () => {
    let valid = 0;
    let answered = 0;
    for (const input of numbers) {
      const expected = library(input);
      if (expected) valid++;
      const fast = readE164(input);
      if (!fast) continue;
      answered++;
      assert.deepEqual({ e164: input, ...fast }, expected, input);
    }
    assert.ok(valid > 8_000, `the corpus holds ${valid} valid numbers`);
    assert.ok(answered / valid > 0.9, `the fast path answered ${answered} of ${valid} valid numbers`);
  });

  it('parses every number of the corpus as libphonenumber-js does, and its self-check never disagrees', () => {
    for (const input of numbers) assert.deepEqual(parsePhone(input, true) ?? undefined, library(input) && { ...library(input) }, input);
    const state = fastPathState();
    assert.equal(state.on, true);
    assert.ok(state.answers > 8_000);
  });

  it('falls back to libphonenumber-js when its metadata methods are gone (a release that renamed one): slower, never a 500', () => {
    // Fresh copies of the two modules, made against a libphonenumber-js/core whose Metadata has
    // none of the methods the fast path reads (libphonenumber-js/max itself stays whole).
    const paths = [require.resolve('../../lib/core/phone'), require.resolve('../../lib/core/phone-plans')];
    const corePath = require.resolve('libphonenumber-js/core');
    const saved = paths.map((p) => require.cache[p]);
    const core = require.cache[corePath] as NodeJS.Module;
    const fresh = () => {
      for (const p of paths) delete require.cache[p];
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh copy of the module, not an import
      return require(paths[0] as string) as typeof import('../../lib/core/phone');
    };
    require.cache[corePath] = Object.assign(Object.create(core) as NodeJS.Module, {
      exports: { ...(core.exports as object), Metadata: class Renamed {} },
    });
    try {
      // Parsing meets the broken metadata first in one copy…
      const parsing = fresh();
      assert.deepEqual(parsing.parsePhone('+14155550123'), library('+14155550123'));
      assert.deepEqual(parsing.parsePhone('+447400123456'), library('+447400123456'));
      assert.equal(parsing.fastPathState().on, false);
      // …and logging (which masks numbers through the same path) in another.
      const logging = fresh();
      assert.equal(logging.maskPhone('+447400123456'), '+44********56');
      assert.equal(logging.fastPathState().on, false);
    } finally {
      require.cache[corePath] = core;
      paths.forEach((p, i) => {
        if (saved[i]) require.cache[p] = saved[i];
      });
    }
  });

  it('leaves other forms, national prefixes and shared codes without a country to libphonenumber-js', () => {
    for (const input of ['+1 415 555 0123', '+44 07400 123456', '+4407400123456', '+80012345678', ' +14155550123', '+0123']) {
      assert.equal(readE164(input), undefined, input);
    }
    // …which still reads them.
    assert.equal(parsePhone('+4407400123456')?.e164, '+447400123456');
    assert.equal(parsePhone('+80012345678')?.type, 'TOLL_FREE');
    // An optional national prefix that matches nothing strips nothing: Argentina stays fast.
    assert.equal(readE164('+5491123456789')?.country, 'AR');
  });
});
