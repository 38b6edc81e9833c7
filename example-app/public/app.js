// The login page's script: calls the package's JSON routes and turns their error codes
// into sentences a person understands.
(function () {
  'use strict';
  var TTL_SECONDS = 180;
  var COOLDOWN_SECONDS = 30;
  var phoneForm = document.getElementById('phone-form');
  if (!phoneForm) return;
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
  var state = { phone: null, sentAt: 0, timer: null };

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
      return res.json().then(function (json) { return { res: res, body: json }; }, function () { return { res: res, body: {} }; });
    });
  }

  function retryText(res) {
    var seconds = Number(res.headers.get('retry-after'));
    return seconds > 0 ? ' Try again in ' + seconds + ' seconds.' : ' Try again later.';
  }

  function startMessage(r) {
    switch (r.body.error) {
      case 'bad.phone_number': return 'That is not a mobile number we can send a code to. Check the country and the number.';
      case 'too_many_requests': return 'Too many codes were requested.' + retryText(r.res);
      case 'sms_provider_error': return r.res.status === 400 ? 'We could not send an SMS to this number. Check it, or use another one.' : 'Sending the SMS failed. Try again in a moment.';
      case 'temporarily_unavailable': return 'The login service is busy. Try again in a moment.';
      default: return r.body.error_description || 'Something went wrong. Try again.';
    }
  }

  function verifyMessage(r) {
    switch (r.body.error) {
      case 'invalid_grant':
        if (Date.now() - state.sentAt > TTL_SECONDS * 1000) return 'This code has expired. Request a new code.';
        return 'That code is not right. Check the SMS and try again.';
      case 'too_many_attempts': return 'Too many wrong codes. Request a new code.' + (r.res.headers.get('retry-after') ? retryText(r.res) : '');
      case 'bad.verification_code': return 'Enter the code from the SMS.';
      case 'temporarily_unavailable': return 'The login service is busy. Try again in a moment.';
      default: return r.body.error_description || 'Something went wrong. Try again.';
    }
  }

  function cooldown() {
    var left = COOLDOWN_SECONDS;
    clearInterval(state.timer);
    resend.disabled = true;
    resend.textContent = 'Resend code (' + left + ' s)';
    state.timer = setInterval(function () {
      left -= 1;
      if (left <= 0) {
        clearInterval(state.timer);
        resend.disabled = false;
        resend.textContent = 'Resend code';
      } else {
        resend.textContent = 'Resend code (' + left + ' s)';
      }
    }, 1000);
  }

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
      sentTo.textContent = 'We sent a code to ' + r.body.phone_number + '.';
      cooldown();
      return true;
    });
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
    start(fullNumber(), phoneInput, phoneError).then(function (ok) {
      sendButton.disabled = false;
      if (!ok) return;
      phoneForm.hidden = true;
      codeForm.hidden = false;
      codeInput.value = '';
      codeInput.focus();
    }, function () {
      sendButton.disabled = false;
      showError(phoneInput, phoneError, 'The network failed. Try again.');
    });
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
    }).then(function (r) {
      verifyButton.disabled = false;
      if (r.res.status === 200) {
        window.location.assign('/profile');
        return;
      }
      showError(codeInput, codeError, verifyMessage(r));
      codeInput.select();
      codeInput.focus();
    }, function () {
      verifyButton.disabled = false;
      showError(codeInput, codeError, 'The network failed. Try again.');
    });
  });

  resend.addEventListener('click', function () {
    showError(codeInput, codeError, '');
    start(state.phone, codeInput, codeError).then(function (ok) {
      if (ok) codeInput.focus();
    });
  });

  document.getElementById('change').addEventListener('click', function () {
    clearInterval(state.timer);
    codeForm.hidden = true;
    phoneForm.hidden = false;
    phoneInput.focus();
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
