import assert from 'node:assert/strict';
import request from 'supertest';
import { lastCode, makeApp, startBody, verifyBody } from '../helpers/app';

async function messageFor(options: Parameters<typeof makeApp>[0], headers: Record<string, string> = {}, body = startBody()) {
  const t = makeApp(options);
  const req = request(t.app).post('/passwordless/start');
  for (const [k, v] of Object.entries(headers)) req.set(k, v);
  const res = await req.send(body);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { text: t.outbox.last()?.body ?? '', code: lastCode(t.outbox), res, app: t.app, phone: res.body.phone_number as string };
}

/** The code read from the message is the one the store holds: it logs in. */
async function assertLogsIn(sent: { app: import('express').Express; code: string; phone: string }): Promise<void> {
  await request(sent.app)
    .post('/passwordless/verify')
    .send(verifyBody(sent.code, { phone_number: sent.phone }))
    .expect(200);
}

describe('message templates', () => {
  it('renders every Liquid variable', async () => {
    const sent = await messageFor(
      { template: '{{ application.name }}: {{ code }} / {{ password }} for {{ phone_number }} [{{ request_language }}]' },
      { 'accept-language': 'nl-BE' },
      startBody({ phone_number: '+1 415 555 0123' }),
    );
    assert.equal(sent.text, `Acme Web: ${sent.code} / ${sent.code} for +14155550123 [nl-BE]`);
    // The code was read from the text itself: prove it is the pending code, not just any digits.
    await assertLogsIn(sent);
  });

  it("lets a template branch on request_language the Auth0 way (contains 'fr-FR')", async () => {
    const template = "{% if request_language contains 'fr-FR' %}Votre code : {{ code }}{% else %}Your code: {{ code }}{% endif %}";
    const fr = await messageFor({ template }, { 'x-request-language': 'fr-FR' });
    assert.equal(fr.text, `Votre code : ${fr.code}`);
    const en = await messageFor({ template }, { 'accept-language': 'en-US' });
    assert.equal(en.text, `Your code: ${en.code}`);
  });

  it('renders md_with_macros', async () => {
    const sent = await messageFor({
      templateSyntax: 'md_with_macros',
      template: '@@application.name@@ code @@password@@ (@@code@@) to @@phone_number@@ {{ not liquid }}',
    });
    assert.equal(sent.text, `Acme Web code ${sent.code} (${sent.code}) to +14155550123 {{ not liquid }}`);
    await assertLogsIn(sent);
  });

  it("runs Liquid tags in an md_with_macros template, as Auth0's multi-language example writes them", async () => {
    const template =
      "{% if request_language contains 'fr' %}Ceci est votre code: @@password@@{% else %}Your SMS verification code is: @@password@@{% endif %}";
    const fr = await messageFor({ templateSyntax: 'md_with_macros', template }, { 'x-request-language': 'fr' });
    assert.equal(fr.text, `Ceci est votre code: ${fr.code}`);
    await assertLogsIn(fr);
    const en = await messageFor({ templateSyntax: 'md_with_macros', template }, { 'accept-language': 'en-US' });
    assert.equal(en.text, `Your SMS verification code is: ${en.code}`);
    // Unknown macros are still refused by their macro name, inside tags too.
    await assert.rejects(
      messageFor({ templateSyntax: 'md_with_macros', template: '{% if true %}@@pasword@@ @@code@@{% endif %}' }),
      /unknown variable @@pasword@@/,
    );
  });

  it('refuses at construction a template that outputs no code for a request without language headers', () => {
    for (const [templateSyntax, template] of [
      ['md_with_macros', "{% if request_language contains 'en' %}Your code: @@password@@{% endif %}"],
      ['liquid', "{% if request_language contains 'en' %}Your code: {{ code }}{% endif %}"],
    ] as const)
      assert.throws(() => makeApp({ templateSyntax, template }), /never outputs the code when request_language is empty .*\{% else %\}/);
  });

  it("says which request_language renders no code and how to fix it, for Auth0's example of one {% if %} per language", () => {
    // Auth0's documented multi-language message: no branch for a request in any other language.
    const auth0Example =
      "{% if request_language contains 'dutch' %}Hier is uw verificatie code: @@password@@{% endif %}" +
      "{% if request_language contains 'fr-FR' %}Ceci est votre code: @@password@@{% endif %}";
    assert.throws(
      () => makeApp({ templateSyntax: 'md_with_macros', template: auth0Example }),
      (err: Error) =>
        /`template` never outputs the code when request_language is "en" \(`defaultLanguage`\)/.test(err.message) &&
        /\{% else %\} branch/.test(err.message) &&
        !/Add @@code@@ to the message/.test(err.message),
    );
  });

  it('says that {{ code }} is plain text under md_with_macros (what fromAuth0Connection assumes without a syntax)', () => {
    assert.throws(
      () => makeApp({ templateSyntax: 'md_with_macros', template: 'Your code: {{ code }}' }),
      /`template` never outputs the code: \{\{ code \}\} is plain text under templateSyntax 'md_with_macros'. Write @@password@@, or set templateSyntax: 'liquid'/,
    );
  });

  it('sends no SMS, and spends no limit, when a template renders no code for the language a request asks for', async () => {
    const t = makeApp({
      logger: false,
      rateLimits: {},
      template: "{% if request_language contains 'de' %}Hallo{% else %}Code {{ code }}{% endif %}",
    });
    const res = await request(t.app).post('/passwordless/start').set('x-request-language', 'de').send(startBody());
    assert.equal(res.status, 500);
    assert.equal(res.body.error, 'server_error');
    assert.equal(t.outbox.messages.length, 0);
    // The WebOTP line carries the code for autofill, not for the reader: still refused.
    const webOtp = makeApp({
      logger: false,
      webOtp: { domain: 'example.com' },
      template: "{% if request_language contains 'de' %}Hallo{% else %}Code {{ code }}{% endif %}",
    });
    await request(webOtp.app).post('/passwordless/start').set('x-request-language', 'de').send(startBody()).expect(500);
    assert.equal(webOtp.outbox.messages.length, 0);
    // Nothing was counted: the same number starts at once in another language.
    await request(t.app).post('/passwordless/start').send(startBody()).expect(200);
    assert.match(t.outbox.last()?.body ?? '', /^Code \d{6}$/);
  });

  it('does not expose prototype properties to templates', async () => {
    for (const reach of ['{{ application.constructor }}', '{{ code.length }}', '{{ application.__proto__ }}']) {
      await assert.rejects(messageFor({ template: `{{ code }}|${reach}` }), /unknown variable .* Known variables: \{\{ code \}\}/, reach);
    }
  });

  it('neither renders nor prints Liquid or text that arrives in a language header', async () => {
    for (const name of ['accept-language', 'x-request-language']) {
      const { text } = await messageFor({ template: '{{ code }} [{{ request_language }}]' }, { [name]: "{{ code }}{% include 'x' %}" });
      assert.match(text, /^\d{6} \[\]$/, name);
    }
  });

  it('prints only a well-formed, short language tag from x-request-language', async () => {
    const template = '{{ code }} [{{ request_language }}]';
    assert.match((await messageFor({ template }, { 'x-request-language': 'pt-BR' })).text, /^\d{6} \[pt-BR\]$/);
    const long = (await messageFor({ template }, { 'x-request-language': `en ${'Call +44 20 7946 0000 now '.repeat(9)}` })).text;
    assert.match(long, /^\d{6} \[\]$/);
  });

  it("passes x-request-language: dutch through, as Auth0's own template example tests for it, and no longer words", async () => {
    const template =
      "{% if request_language contains 'dutch' %}Uw code: {{ code }}{% else %}Code {{ code }} [{{ request_language }}]{% endif %}";
    const dutch = await messageFor({ template }, { 'x-request-language': 'dutch' });
    assert.match(dutch.text, /^Uw code: \d{6}$/);
    assert.equal(dutch.res.body.request_language, 'dutch');
    for (const words of ['callnowfree', 'call now', 'URGENT!', 'dutch1'])
      assert.match((await messageFor({ template }, { 'x-request-language': words })).text, /^Code \d{6} \[\]$/, words);
  });

  it('prints an accept-language list only when it is one by its grammar, not words in its characters', async () => {
    const template = '{{ code }} [{{ request_language }}]';
    const list = 'fr-CH, fr;q=0.9, en;q=0.8, *;q=0.5';
    assert.equal((await messageFor({ template }, { 'accept-language': list })).text.split(' [')[1], `${list}]`);
    for (const scam of [
      'en. URGENT your bank account is locked, call 18005550199 or reply YES to unlock; q=1',
      'URGENT, account-locked, call-1800-555-0199, or-reply-YES',
    ])
      assert.match((await messageFor({ template }, { 'accept-language': scam })).text, /^\d{6} \[\]$/, scam);
    // Read as far as it has a tag's shape: the number never reaches the message.
    assert.match((await messageFor({ template }, { 'x-request-language': 'cal-1800-555-0199' })).text, /^\d{6} \[cal\]$/);
    assert.match((await messageFor({ template }, { 'accept-language': 'es-419, zh-Hant-TW;Q=0.5' })).text, /\[es-419, zh-Hant-TW;Q=0.5\]$/);
    // Negotiated, but not printed: the template sees only lists that are tags through and through.
    assert.match((await messageFor({ template }, { 'accept-language': 'ca-valencia, ca;q=0.8' })).text, /^\d{6} \[\]$/);
  });

  it('prints nothing for a malformed x-request-language, even next to a well-formed accept-language', async () => {
    const template = '{{ code }} [{{ request_language }}]';
    for (const x of ['français', '12-FR', 'x-pig-latin']) {
      const { text } = await messageFor({ template }, { 'x-request-language': x, 'accept-language': 'de' });
      assert.match(text, /^\d{6} \[\]$/, x);
    }
  });

  it("prints a device locale's x-request-language as sent (es_MX), and a tag with a variant as far as it is one (ca-ES)", async () => {
    const template = '{{ code }} [{{ request_language }}]';
    assert.match((await messageFor({ template }, { 'x-request-language': 'es_MX' })).text, /^\d{6} \[es_MX\]$/);
    assert.match((await messageFor({ template }, { 'x-request-language': 'zh_Hant_TW' })).text, /^\d{6} \[zh_Hant_TW\]$/);
    assert.match((await messageFor({ template }, { 'x-request-language': 'ca-ES-valencia' })).text, /^\d{6} \[ca-ES\]$/);
    assert.match((await messageFor({ template }, { 'x-request-language': 'de-u-mu-celsius' })).text, /^\d{6} \[de\]$/);
  });

  it("templates carried over from Auth0 may read Liquid's .size of a text variable; other properties are still refused", async () => {
    const template = '{% if request_language.size > 0 %}[{{ request_language }}] {% endif %}Your {{ code.size }}-digit code: {{ code }}';
    assert.match((await messageFor({ template }, { 'x-request-language': 'es' })).text, /^\[es\] Your 6-digit code: \d{6}$/);
    assert.match((await messageFor({ template }, {})).text, /^Your 6-digit code: \d{6}$/);
    await assert.rejects(messageFor({ template: '{{ code }} {{ code.length }}' }), /unknown variable \{\{ code\.length \}\}/);
    await assert.rejects(messageFor({ template: '{{ code }} {{ secret.size }}' }), /unknown variable \{\{ secret\.size \}\}/);
  });

  describe('per-language templates', () => {
    const templates = {
      nl: 'Uw code is {{ code }}',
      fr: 'Votre code est {{ code }}',
      pt: 'Seu código é {{ code }}',
      'en-GB': 'Your code, mate: {{ code }}',
      'zh-Hant': '您的驗證碼是 {{ code }}',
    };
    const DEFAULT_TEXT = /^Your verification code is: \d{6}$/;
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['Dutch from accept-language', { 'accept-language': 'nl-NL,nl;q=0.9,en;q=0.5' }, /^Uw code is \d{6}$/],
      [
        'French from x-request-language over accept-language',
        { 'x-request-language': 'fr', 'accept-language': 'nl' },
        /^Votre code est \d{6}$/,
      ],
      ['the region fallback pt-BR → pt', { 'accept-language': 'pt-BR' }, /^Seu código é \d{6}$/],
      ['an exact region', { 'accept-language': 'en-GB' }, /^Your code, mate: \d{6}$/],
      [
        'a script with a region finds the script (zh-Hant-TW → zh-Hant), by x-request-language',
        { 'x-request-language': 'zh-Hant-TW' },
        /^您的驗證碼是 \d{6}$/,
      ],
      [
        'a script with a region finds the script, by accept-language with weights',
        { 'accept-language': 'zh-Hant-TW;q=0.9, fr;q=0.8' },
        /^您的驗證碼是 \d{6}$/,
      ],
      ['quality order', { 'accept-language': 'de, fr;q=0.4, nl;q=0.8' }, /^Uw code is \d{6}$/],
      [
        'the default template when x-request-language matches nothing, whatever accept-language says',
        { 'x-request-language': 'ja', 'accept-language': 'fr' },
        DEFAULT_TEXT,
      ],
      [
        'the default template for x-request-language: en (defaultLanguage) over accept-language: fr',
        { 'x-request-language': 'en', 'accept-language': 'fr' },
        DEFAULT_TEXT,
      ],
      ['the default template for accept-language: * (what Node fetch sends)', { 'accept-language': '*' }, DEFAULT_TEXT],
      [
        'the default template for accept-language "*, fr;q=0.5" (anything first, French after)',
        { 'accept-language': '*, fr;q=0.5' },
        DEFAULT_TEXT,
      ],
      ['French for accept-language "fr, *;q=0.5"', { 'accept-language': 'fr, *;q=0.5' }, /^Votre code est \d{6}$/],
      [
        'the default template for a malformed x-request-language, whatever accept-language says',
        { 'x-request-language': 'français', 'accept-language': 'nl' },
        DEFAULT_TEXT,
      ],
      [
        "French for x-request-language: fr_FR (Android's and iOS's locale form)",
        { 'x-request-language': 'fr_FR', 'accept-language': 'nl' },
        /^Votre code est \d{6}$/,
      ],
      ['a script with a region in the locale form (zh_Hant_TW → zh-Hant)', { 'x-request-language': 'zh_Hant_TW' }, /^您的驗證碼是 \d{6}$/],
      [
        'Dutch from accept-language when x-request-language is empty',
        { 'x-request-language': ' ', 'accept-language': 'nl' },
        /^Uw code is \d{6}$/,
      ],
      [
        'Dutch past an Android extension and a private tag in accept-language (one odd range does not void the list)',
        { 'accept-language': 'de-u-mu-celsius, x-pig-latin, nl;q=0.5' },
        /^Uw code is \d{6}$/,
      ],
      [
        'French for x-request-language: fr-x-private (read as far as it is a tag)',
        { 'x-request-language': 'fr-x-private' },
        /^Votre code est \d{6}$/,
      ],
      ['the default template for an unknown language', { 'accept-language': 'de-DE' }, DEFAULT_TEXT],
      ['the default template without a language header', {}, DEFAULT_TEXT],
    ];
    it('serves a templates entry for defaultLanguage to requests in that language, and keeps `template` the fallback for the rest', async () => {
      const options = { template: 'Fallback {{ code }}', templates: { en: 'English {{ code }}', fr: 'Francais {{ code }}' } };
      const textFor = async (headers: Record<string, string>) => (await messageFor(options, headers)).text;
      assert.match(await textFor({}), /^Fallback \d{6}$/);
      assert.match(await textFor({ 'x-request-language': 'de' }), /^Fallback \d{6}$/);
      assert.match(await textFor({ 'accept-language': 'de-DE' }), /^Fallback \d{6}$/);
      assert.match(await textFor({ 'accept-language': 'en-US' }), /^English \d{6}$/);
      assert.match(await textFor({ 'x-request-language': 'en' }), /^English \d{6}$/);
      assert.match(await textFor({ 'x-request-language': 'fr' }), /^Francais \d{6}$/);
    });

    it("falls back to the app's own defaultLanguage entry, not the package's text, when `template` is not set", async () => {
      const options = { templates: { en: 'Acme: your code is {{ code }}. Never share it.', fr: 'Acme : votre code {{ code }}' } };
      for (const headers of [{}, { 'accept-language': 'de' }, { 'x-request-language': 'en' }] as Array<Record<string, string>>)
        assert.match((await messageFor(options, headers)).text, /^Acme: your code is \d{6}\. Never share it\.$/, JSON.stringify(headers));
      assert.match((await messageFor(options, { 'x-request-language': 'fr' })).text, /^Acme : votre code \d{6}$/);
    });

    it('refuses two templates for one language in different case', () => {
      assert.throws(
        () => makeApp({ templates: { en: 'A {{ code }}', EN: 'B {{ code }}' } }),
        /`templates\.EN` is the language of `templates\.en` \(tags ignore case\): keep one/,
      );
    });

    for (const [label, headers, expected] of cases) {
      it(`chooses ${label}`, async () => {
        const { text } = await messageFor({ templates }, headers);
        assert.match(text, expected);
      });
    }
  });
});
