// Waits as a person reads them, shared by the page script and the server's no-JavaScript pages.
(function (root) {
  'use strict';

  function plural(n, word) {
    return n + ' ' + word + (n === 1 ? '' : 's');
  }

  /** 30 → "30 seconds", 180 → "3 minutes", 3590 → "1 hour", 5000 → "1 hour and 24 minutes". */
  function formatDuration(seconds) {
    if (seconds < 60) return plural(seconds, 'second');
    // Rounded up: being told to wait a little too long is better than being refused again.
    var minutes = Math.ceil(seconds / 60);
    if (minutes < 60) return plural(minutes, 'minute');
    var hours = Math.floor(minutes / 60);
    var rest = minutes % 60;
    return plural(hours, 'hour') + (rest ? ' and ' + plural(rest, 'minute') : '');
  }

  /** "… Try again in 3590 seconds." → "… Try again in 1 hour." */
  function withDuration(text, seconds) {
    if (!(seconds > 0)) return text;
    var wait = 'Try again in ' + formatDuration(seconds) + '.';
    return /Try again in \d+ seconds?\./.test(text) ? text.replace(/Try again in \d+ seconds?\./, wait) : text + ' ' + wait;
  }

  var api = { formatDuration: formatDuration, withDuration: withDuration };
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.Duration = api;
})(this);
