// Security headers for the example's pages (what helmet would set, kept to what these pages
// need). The pages load their scripts and styles from /public only, so the policy allows
// nothing else: an injected <script> or inline handler does not run, and no other site can
// frame the login page to trick a click.
'use strict';

const POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

function securityHeaders() {
  return function setSecurityHeaders(_req, res, next) {
    res.setHeader('Content-Security-Policy', POLICY);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'same-origin');
    next();
  };
}

module.exports = { securityHeaders };
