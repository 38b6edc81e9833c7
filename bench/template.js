// Microseconds per message render: the plain default template and a multi-language one.
'use strict';
const { resolveOptions } = require('../dist/config/options');
const { composeMessage } = require('../dist/core/message');

function config(options) {
  return resolveOptions({
    secret: 'x'.repeat(32),
    sender: { send: async () => ({}) },
    clients: [{ clientId: 'c', name: 'Bench' }],
    logger: false,
    ...options,
  });
}

function measure(cfg, acceptLanguage, iterations) {
  // The message core takes the two language headers, not an Express request.
  const input = {
    applicationName: 'Bench',
    phone: '+14155550123',
    code: '123456',
    headers: { requestLanguage: undefined, acceptLanguage },
  };
  for (let i = 0; i < 2000; i += 1) composeMessage(cfg, input); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i += 1) composeMessage(cfg, input);
  return Number(process.hrtime.bigint() - start) / 1000 / iterations;
}

const iterations = Number(process.argv[2] || 50_000);
const plain = measure(config({}), undefined, iterations);
const multi = measure(
  config({
    template:
      "{% if request_language contains 'fr' %}Votre code : {{ code }}{% else %}Your {{ application.name }} code is {{ code }}{% endif %}",
    templates: {
      en: 'Your {{ application.name }} code is {{ code }}',
      fr: 'Votre code {{ application.name }} : {{ code }}',
      nl: 'Uw code: {{ code }}',
      es: 'Tu código: {{ code }}',
      'pt-BR': 'Seu código: {{ code }}',
    },
  }),
  'pt-BR,pt;q=0.9,en;q=0.5',
  iterations,
);
process.stdout.write(JSON.stringify({ plainMicroseconds: plain, multiLanguageMicroseconds: multi }) + '\n');
