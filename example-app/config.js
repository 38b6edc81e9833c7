// Reads the example app's settings from the environment. With nothing set, it runs with
// the memory store and the development outbox; see README.md and .env.example.
'use strict';
const crypto = require('node:crypto');

function readConfig(env = process.env, warn = (m) => console.warn(m)) {
  const production = env.NODE_ENV === 'production';
  const twilio =
    env.TWILIO_ACCOUNT_SID || env.TWILIO_AUTH_TOKEN
      ? {
          accountSid: env.TWILIO_ACCOUNT_SID,
          authToken: env.TWILIO_AUTH_TOKEN,
          ...(env.TWILIO_MESSAGING_SERVICE_SID ? { messagingServiceSid: env.TWILIO_MESSAGING_SERVICE_SID } : { from: env.TWILIO_FROM }),
        }
      : undefined;
  if (production && !twilio) {
    throw new Error(
      'NODE_ENV=production needs a real sender: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_MESSAGING_SERVICE_SID (or TWILIO_FROM). The development outbox prints login codes and is refused in production.',
    );
  }
  function secret(name) {
    if (env[name]) return env[name];
    if (production) throw new Error(`Set ${name} (32+ random characters) in production.`);
    warn(`[example-app] ${name} is not set: using a random one for this run (sessions and codes end with the process).`);
    return crypto.randomBytes(32).toString('base64url');
  }
  return {
    production,
    port: Number(env.PORT || 3000),
    host: env.HOST || '127.0.0.1',
    sessionSecret: secret('SESSION_SECRET'),
    passwordlessSecret: secret('PASSWORDLESS_SECRET'),
    twilio,
    redisUrl: env.REDIS_URL || undefined,
    redisPrefix: env.REDIS_PREFIX || 'example:',
  };
}

module.exports = { readConfig };
