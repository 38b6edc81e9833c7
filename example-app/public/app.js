// The login page's script: calls the package's JSON routes and turns their answers into
// sentences a person understands.
(function () {
  'use strict';
  var phoneForm = document.getElementById('phone-form');
  if (!phoneForm) return;
  // From the app's own options (pages.js), so the page and the package agree.
  var CODE_LENGTH = Number(phoneForm.dataset.codeLength);
  var TTL_SECONDS = Number(phoneForm.dataset.codeTtl);
  var COOLDOWN_SECONDS = Number(phoneForm.dataset.resendCooldown);
  var codeForm = document.getElementById('code-form');
  var phoneInput = document.getElementById('phone');
  var country = document.getElementById('country');
  var language = document.getElementById('language');
  var codeInput = document.getElementById('code');
  var phoneError = document.getElementById('phone-error');
  var codeError = document.getElementById('code-error');
  var sentTo = document.getElementById('sent-to');
  var resend = document.getElementById('resend');
  var sendButton = document.getElementById('send');
  var verifyButton = document.getElementById('verify');
  var haveCode = document.getElementById('have-code');
  // phone: E.164 as the server answered; display: as people write it in that country.
  var state = { phone: null, display: null, sentAt: 0, cooldownUntil: 0, timer: null };

  var formatDuration = window.Duration.formatDuration;

  function fullNumber() {
    var raw = phoneInput.value.trim();
    if (raw.charAt(0) === '+') return raw;
    // National numbers are often written with a trunk 0 (06 12 34 56 78): drop it.
    return country.value + ' ' + raw.replace(/^0+/, '');
  }

  function showError(input, box, text) {
    box.textContent = text || '';
    if (text) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  function post(path, body) {
    return fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-language': language.value },
      credentials: 'same-origin',
      body: JSON.stringify(body),
    }).then(function (res) {
      if (res.status === 204) return { res: res, body: {} };
      return res.json().then(
        function (json) {
          return { res: res, body: json };
        },
        function () {
          return { res: res, body: {} };
        },
      );
    });
  }

  /** The number as people write it in its country, formatted by the app; E.164 if that fails. */
  function nationalFormat(e164) {
    return fetch('/api/phone-format?number=' + encodeURIComponent(e164), { credentials: 'same-origin' })
      .then(function (res) {
        return res.ok ? res.json() : {};
      })
      .then(
        function (json) {
          return json.national || e164;
        },
        function () {
          return e164;
        },
      );
  }

  /**
   * The server's own sentence when it is written for people. Texts that name a request
   * parameter ("Missing required property: phone_number") are for developers: null then.
   */
  function serverText(r) {
    var text = r.body.error_description;
    if (typeof text !== 'string' || !text) return null;
    return /\b(phone_number|verification_code|client_id|connection)\b/.test(text) ? null : text;
  }

  /** Puts the wait as a duration ("in 1 hour") where the server counts seconds ("in 3590 seconds"). */
  function withWait(text, res) {
    return window.Duration.withDuration(text, Number(res.headers.get('retry-after')));
  }

  function startMessage(r) {
    switch (r.body.error) {
      case 'bad.phone_number':
        return serverText(r) || 'That is not a mobile number we can send a code to. Check the country and the number.';
      case 'too_many_requests':
        return withWait(serverText(r) || 'Too many codes were requested.', r.res);
      // The provider's own texts (with its error codes) are for developers.
      case 'sms_provider_error':
        return r.res.status === 400
          ? 'We could not send an SMS to this number. Check it, or use another one.'
          : 'Sending the SMS failed. Try again in a moment.';
      default:
        return serverText(r) || 'Something went wrong. Try again.';
    }
  }

  function verifyMessage(r) {
    switch (r.body.error) {
      case 'invalid_grant':
        if (Date.now() - state.sentAt > TTL_SECONDS * 1000) return 'This code has expired. Request a new code.';
        // The server's "Wrong phone number or verification code." is vaguer: the number is known here.
        return 'That code is not right. Check the SMS and try again.';
      case 'too_many_attempts':
        return withWait(serverText(r) || 'Too many wrong codes. Request a new code.', r.res);
      case 'bad.verification_code':
        return 'Enter the code from the SMS.';
      default:
        return serverText(r) || 'Something went wrong. Try again.';
    }
  }

  /** Keeps the Resend button in step with the cooldown, whichever form is showing. */
  function tickCooldown() {
    var left = Math.ceil((state.cooldownUntil - Date.now()) / 1000);
    if (left > 0) {
      resend.disabled = true;
      resend.textContent = 'Resend code (' + left + ' s)';
      return;
    }
    clearInterval(state.timer);
    resend.disabled = false;
    resend.textContent = 'Resend code';
  }

  function startCooldown() {
    clearInterval(state.timer);
    state.cooldownUntil = Date.now() + COOLDOWN_SECONDS * 1000;
    tickCooldown();
    if (COOLDOWN_SECONDS > 0) state.timer = setInterval(tickCooldown, 1000);
  }

  function codeStillValid() {
    return Boolean(state.phone) && Date.now() - state.sentAt < TTL_SECONDS * 1000;
  }

  function sentText(isNew) {
    return (
      (isNew ? 'We sent a new code. ' : '') +
      'Enter the ' +
      CODE_LENGTH +
      '-digit code we sent to ' +
      state.display +
      '. It expires in ' +
      formatDuration(TTL_SECONDS) +
      '.'
    );
  }

  /** Resolves true once a code is on its way; otherwise shows why in `errorBox`. */
  function start(phone, errorInput, errorBox) {
    return post('/passwordless/start', {
      client_id: phoneForm.dataset.clientId,
      connection: phoneForm.dataset.connection,
      phone_number: phone,
    }).then(function (r) {
      if (r.res.status !== 200) {
        showError(errorInput, errorBox, startMessage(r));
        errorInput.focus();
        return false;
      }
      state.phone = r.body.phone_number;
      state.sentAt = Date.now();
      startCooldown();
      return nationalFormat(state.phone).then(function (display) {
        state.display = display;
        return true;
      });
    });
  }

  function showCodeForm() {
    phoneForm.hidden = true;
    codeForm.hidden = false;
    codeInput.focus();
  }

  phoneForm.addEventListener('submit', function (event) {
    event.preventDefault();
    showError(phoneInput, phoneError, '');
    if (!phoneInput.value.trim()) {
      showError(phoneInput, phoneError, 'Enter your phone number.');
      phoneInput.focus();
      return;
    }
    sendButton.disabled = true;
    start(fullNumber(), phoneInput, phoneError).then(
      function (ok) {
        sendButton.disabled = false;
        if (!ok) return;
        sentTo.textContent = sentText(false);
        codeInput.value = '';
        showError(codeInput, codeError, '');
        showCodeForm();
      },
      function () {
        sendButton.disabled = false;
        showError(phoneInput, phoneError, 'The network failed. Try again.');
      },
    );
  });

  codeForm.addEventListener('submit', function (event) {
    event.preventDefault();
    showError(codeInput, codeError, '');
    var code = codeInput.value.replace(/\s+/g, '');
    if (!code) {
      showError(codeInput, codeError, 'Enter the code from the SMS.');
      codeInput.focus();
      return;
    }
    verifyButton.disabled = true;
    post('/passwordless/verify', {
      client_id: phoneForm.dataset.clientId,
      connection: phoneForm.dataset.connection,
      phone_number: state.phone,
      verification_code: code,
    }).then(
      function (r) {
        verifyButton.disabled = false;
        if (r.res.status === 200) {
          window.location.assign('/profile');
          return;
        }
        showError(codeInput, codeError, verifyMessage(r));
        codeInput.select();
        codeInput.focus();
      },
      function () {
        verifyButton.disabled = false;
        showError(codeInput, codeError, 'The network failed. Try again.');
      },
    );
  });

  resend.addEventListener('click', function () {
    // The old status, error and code belong to the code this replaces: none of them stays.
    showError(codeInput, codeError, '');
    sentTo.textContent = '';
    codeInput.value = '';
    resend.disabled = true;
    start(state.phone, codeInput, codeError).then(
      function (ok) {
        if (ok) sentTo.textContent = sentText(true);
        else tickCooldown();
        codeInput.focus();
      },
      function () {
        tickCooldown();
        showError(codeInput, codeError, 'The network failed. Try again.');
      },
    );
  });

  document.getElementById('change').addEventListener('click', function () {
    // The cooldown keeps running: the same number gets no new code before it ends, so the
    // phone form offers the way back to the code already sent.
    codeForm.hidden = true;
    phoneForm.hidden = false;
    showError(phoneInput, phoneError, '');
    haveCode.hidden = !codeStillValid();
    phoneInput.focus();
  });

  haveCode.addEventListener('click', function () {
    showError(phoneInput, phoneError, '');
    showCodeForm();
  });
})();

(function () {
  'use strict';
  var logout = document.getElementById('logout-form');
  if (!logout) return;
  logout.addEventListener('submit', function (event) {
    event.preventDefault();
    fetch('/passwordless/logout', { method: 'POST', credentials: 'same-origin' }).then(function () {
      window.location.assign('/');
    });
  });
})();
