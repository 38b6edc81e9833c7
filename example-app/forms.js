// The login with JavaScript off: the page's two forms post here, the package's server-side
// start and verify do the work, and the answer is a page. With JavaScript on, the page script
// calls the JSON routes instead and these routes are never used.
'use strict';
const express = require('express');
const { parsePhoneNumberFromString } = require('libphonenumber-js');
const { withDuration } = require('./public/duration');

/** The number as typed: international when it starts with +, else national in the chosen country. */
function fullNumber(country, phone) {
  const raw = String(phone || '').trim();
  if (raw.startsWith('+')) return raw;
  return `${country || ''} ${raw.replace(/^0+/, '')}`;
}

function national(e164) {
  const parsed = parsePhoneNumberFromString(e164);
  return parsed ? parsed.formatNational() : e164;
}

function message(outcome) {
  return withDuration(outcome.error_description, outcome.retryAfter);
}

function formRoutes(app, { pl, client, connection, pages, page }) {
  const form = express.urlencoded({ extended: false, limit: '4kb' });

  app.post('/login', form, async (req, res) => {
    const language = String(req.body.language || '');
    const typed = fullNumber(req.body.country, req.body.phone);
    req.body = { client_id: client.clientId, connection, phone_number: typed };
    // The language the person picked, as the page script would send it.
    if (language) req.headers['x-request-language'] = language;
    const outcome = await pl.start(req);
    if (outcome.ok) {
      return res
        .type('html')
        .send(pages.codePage({ ...page, phoneNumber: outcome.phone_number, national: national(outcome.phone_number), language }));
    }
    res
      .status(outcome.status)
      .type('html')
      .send(pages.loginPage({ ...page, clientId: client.clientId, connection, error: message(outcome), phone: typed }));
  });

  app.post('/login/code', form, async (req, res) => {
    const phoneNumber = String(req.body.phone_number || '');
    const language = String(req.body.language || '');
    req.body = { client_id: client.clientId, connection, phone_number: phoneNumber, verification_code: String(req.body.code || '') };
    const outcome = await pl.verify(req);
    if (outcome.ok) return res.redirect(303, '/profile');
    const error = outcome.status === 403 ? 'That code is not right. Check the SMS and try again.' : message(outcome);
    res
      .status(outcome.status)
      .type('html')
      .send(pages.codePage({ ...page, phoneNumber, national: national(phoneNumber), language, error }));
  });

  // The package's logout with its origin check: another site's page must not log the person out.
  app.post('/logout', async (req, res) => {
    const outcome = await pl.logout(req);
    if (outcome.ok) return res.redirect(303, '/');
    res.status(outcome.status).type('text').send(outcome.error_description);
  });
}

module.exports = { formRoutes };
