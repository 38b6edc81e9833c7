// Server-rendered pages: small, accessible HTML with no build step.
'use strict';

const escapeHtml = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function layout(title, body) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Passwordless SMS example</title>
<link rel="stylesheet" href="/style.css">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

const COUNTRIES = [
  ['US', '+1', 'United States (+1)'],
  ['GB', '+44', 'United Kingdom (+44)'],
  ['FR', '+33', 'France (+33)'],
  ['NL', '+31', 'Netherlands (+31)'],
  ['BE', '+32', 'Belgium (+32)'],
  ['ES', '+34', 'Spain (+34)'],
  ['DE', '+49', 'Germany (+49)'],
];

const LANGUAGES = [
  ['en', 'English'],
  ['fr', 'Français'],
  ['nl', 'Nederlands'],
  ['es', 'Español'],
];

/**
 * `code` is what the page tells the person about the code: its length, its lifetime and the
 * resend cooldown, in seconds, taken from the options the app gives the package.
 */
function loginPage({ clientId, connection, devOutbox, code, error = '', phone = '' }) {
  return layout(
    'Log in',
    `
<h1>Log in with your phone</h1>
<p class="lead">We send a one-time code by SMS. No password needed.</p>
<form id="phone-form" method="post" action="/login" novalidate data-client-id="${escapeHtml(clientId)}" data-connection="${escapeHtml(connection)}"
  data-code-length="${escapeHtml(code.length)}" data-code-ttl="${escapeHtml(code.ttlSeconds)}" data-resend-cooldown="${escapeHtml(code.resendCooldownSeconds)}">
  <div class="field">
    <label for="country">Country</label>
    <select id="country" name="country">
      ${COUNTRIES.map(([code, dial, label]) => `<option value="${dial}" data-country="${code}">${escapeHtml(label)}</option>`).join('')}
    </select>
  </div>
  <div class="field">
    <label for="phone">Phone number</label>
    <input id="phone" name="phone" type="tel" autocomplete="tel" inputmode="tel" required
      aria-describedby="phone-hint phone-error" placeholder="415 555 0123" value="${escapeHtml(phone)}">
    <p id="phone-hint" class="hint">Your number without the country code, or the full number starting with + (like +14155550123).</p>
    <p id="phone-error" class="error" role="alert" aria-live="assertive">${escapeHtml(error)}</p>
  </div>
  <div class="field">
    <label for="language">SMS language</label>
    <select id="language" name="language" aria-describedby="language-hint">
      ${LANGUAGES.map(([tag, label]) => `<option value="${tag}">${escapeHtml(label)}</option>`).join('')}
    </select>
    <p id="language-hint" class="hint">Sent as the <code>x-request-language</code> header.</p>
  </div>
  <button id="send" type="submit">Send code</button>
  <button id="have-code" type="button" class="link" hidden>I already have a code</button>
</form>

<form id="code-form" novalidate hidden>
  <p id="sent-to" class="status" role="status" aria-live="polite"></p>
  <div class="field">
    <label for="code">Verification code</label>
    <input id="code" name="code" type="text" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]*" maxlength="${escapeHtml(code.length)}" required
      aria-describedby="code-error">
    <p id="code-error" class="error" role="alert" aria-live="assertive"></p>
  </div>
  <button id="verify" type="submit">Log in</button>
  <button id="resend" type="button" class="secondary" disabled>Resend code</button>
  <button id="change" type="button" class="link">Use another number</button>
</form>
${devOutbox ? '<p class="dev">Development mode: messages are not sent. Read them in the <a href="/dev/outbox" target="_blank" rel="noopener">outbox</a>.</p>' : ''}
<script src="/duration.js"></script>
<script src="/app.js"></script>`,
  );
}

/**
 * The code step without JavaScript: the server rendered it after the start, with the number
 * in a hidden field and any error of the last try.
 */
function codePage({ phoneNumber, national, language, code, error = '', devOutbox }) {
  const minutes = Math.round(code.ttlSeconds / 60);
  return layout(
    'Enter your code',
    `
<h1>Enter your code</h1>
<form id="code-form-static" method="post" action="/login/code" novalidate>
  <p id="sent-to" class="status" role="status">Enter the ${escapeHtml(code.length)}-digit code we sent to ${escapeHtml(national)}. It expires in ${escapeHtml(minutes)} minute${minutes === 1 ? '' : 's'}.</p>
  <input type="hidden" name="phone_number" value="${escapeHtml(phoneNumber)}">
  <input type="hidden" name="language" value="${escapeHtml(language)}">
  <div class="field">
    <label for="code">Verification code</label>
    <input id="code" name="code" type="text" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]*" maxlength="${escapeHtml(code.length)}" required
      aria-describedby="code-error">
    <p id="code-error" class="error" role="alert" aria-live="assertive">${escapeHtml(error)}</p>
  </div>
  <button id="verify" type="submit">Log in</button>
</form>
<p><a id="start-over" href="/">Use another number or get a new code</a></p>
${devOutbox ? '<p class="dev">Development mode: read the code in the <a href="/dev/outbox" target="_blank" rel="noopener">outbox</a>.</p>' : ''}`,
  );
}

function profilePage(user) {
  return layout(
    'Your profile',
    `
<h1>You are logged in</h1>
<dl class="profile">
  <dt>Phone number</dt><dd id="profile-phone">${escapeHtml(user.phone_number)}</dd>
  <dt>User id</dt><dd id="profile-user-id"><code>${escapeHtml(user.user_id)}</code></dd>
</dl>
<form id="logout-form" method="post" action="/logout">
  <button id="logout" type="submit">Log out</button>
</form>
<script src="/duration.js"></script>
<script src="/app.js"></script>`,
  );
}

function outboxPage(messages) {
  const rows = messages
    .slice()
    .reverse()
    .map(
      (m) =>
        `<li class="message"><p class="meta">To <span class="to">${escapeHtml(m.to)}</span> · ${escapeHtml(new Date(m.sentAt).toLocaleTimeString('en-GB'))} · language <span>${escapeHtml(m.language || '—')}</span></p><p class="body">${escapeHtml(m.body)}</p></li>`,
    )
    .join('');
  return layout(
    'Development outbox',
    `
<h1>Development outbox</h1>
<p class="lead">Messages the app would have sent by SMS, newest first. The list refreshes itself every few seconds.</p>
<div id="messages">${rows ? `<ol id="outbox" class="outbox">${rows}</ol>` : '<p id="outbox-empty">No messages yet.</p>'}</div>
<script src="/outbox.js"></script>`,
  );
}

module.exports = { loginPage, codePage, profilePage, outboxPage };
