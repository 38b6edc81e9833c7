/**
 * Every default of `passwordless(options)`, in one table: the resolver reads it, and a test
 * checks the README's options table against it.
 */
export const DEFAULTS = Object.freeze({
  connection: 'sms',
  template: 'Your verification code is: {{ code }}',
  /** The same message for `templateSyntax: 'md_with_macros'`. */
  templateMacros: 'Your verification code is: @@password@@',
  templateSyntax: 'liquid',
  defaultLanguage: 'en',
  otp: Object.freeze({ length: 6, ttlSeconds: 180, maxAttempts: 3 }),
  rateLimits: Object.freeze({
    resendCooldownSeconds: 30,
    sendsPerPhonePerHour: 5,
    sendsPerPhonePerDay: 10,
    startsPerIpPerHour: 50,
    failedVerifiesPerPhonePerHour: 10,
    failedVerifiesPerIpPerHour: 100,
    failedClientAuthPerIpPerHour: 20,
    sendsPerClientPerDay: 0,
    sendsPerDay: 0,
    sendsPerPrefixPerHour: 0,
    ipv6Subnet: 64,
  }),
  fraudGuard: Object.freeze({ prefixDigits: 6, minSends: 100, minConversion: 0.1, windowSeconds: 3600, blockSeconds: 3600 }),
  blockedNumberTypes: Object.freeze(['PREMIUM_RATE', 'SHARED_COST', 'TOLL_FREE', 'VOICEMAIL'] as const),
  disableSignup: false,
  allowCrossSite: false,
  sendInBackground: false,
  memoryStoreMax: 100_000,
  memoryLimitsMaxKeys: 100_000,
  redisTimeoutMs: 2000,
});
