// The development outbox refreshes its list by itself, so a code shows up without reloading.
// It swaps the list only (not the page), so scrolling and text selection survive.
(function () {
  'use strict';
  var POLL_MS = 3000;
  function refresh() {
    fetch(window.location.pathname, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) {
        return res.ok ? res.text() : null;
      })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('messages');
        var current = document.getElementById('messages');
        if (fresh && current && fresh.innerHTML !== current.innerHTML) current.replaceWith(fresh);
      })
      .catch(function () {
        /* the app is restarting: try again on the next tick */
      });
  }
  setInterval(refresh, POLL_MS);
})();
