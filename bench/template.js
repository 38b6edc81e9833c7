// Microseconds per message render: the plain default template and a multi-language one.
'use strict';
const { resolveOptions } = require('../dist/options');
const { composeMessage } = require('../dist/message');
const express = require('express');

function config(options) {
  return resolveOptions({ secret: 'x'.repeat(32), sender: { send: async () => ({}) }, clients: [{ clientId: 'c', name: 'Bench' }], ...options });
}

function fakeRequest(headers) {
  const req = Object.create(express.request);
  req.headers = headers;
  return req;
}

function measure(cfg, headers, iterations) {
  const req = fakeRequest(headers);
  const input = { applicationName: 'Bench', phone: '+14155550123', code: '123456', language: headers['accept-language'] || '' };
  for (let i = 0; i < 2000; i += 1) composeMessage(cfg, req, input); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i += 1) composeMessage(cfg, req, input);
  return Number(process.hrtime.bigint() - start) / 1000 / iterations;
}

const iterations = Number(process.argv[2] || 50_000);
const plain = measure(config({}), {}, iterations);
const multi = measure(
  config({
    template: "{% if request_language contains 'fr' %}Votre code : {{ code }}{% else %}Your {{ application.name }} code is {{ code }}{% endif %}",
    templates: { en: 'Your {{ application.name }} code is {{ code }}', fr: 'Votre code {{ application.name }} : {{ code }}', nl: 'Uw code: {{ code }}', es: 'Tu código: {{ code }}', 'pt-BR': 'Seu código: {{ code }}' },
  }),
  { 'accept-language': 'pt-BR,pt;q=0.9,en;q=0.5' },
  iterations,
);
process.stdout.write(JSON.stringify({ plainMicroseconds: plain, multiLanguageMicroseconds: multi }) + '\n');
