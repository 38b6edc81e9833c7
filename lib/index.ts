/** The public API of express-passwordless-sms (see the README and CONTRACT). */
export { passwordless, type Passwordless } from './passwordless';
export { PasswordlessError, ErrorCodes, WRONG_CODE_MESSAGE, type ErrorCode } from './errors';
export { twilioSender, type TwilioSenderOptions, type TwilioMessagesClient, type TwilioHttpClient } from './senders/twilio';
export { consoleSender, type ConsoleSenderOptions } from './senders/console';
export { outboxSender, type OutboxSender, type OutboxSenderOptions, type OutboxMessage } from './senders/outbox';
export { memoryStore, type MemoryStoreOptions } from './stores/memory';
export { sessionStore, type SessionStoreOptions } from './stores/session';
export { redisStore, type RedisStoreOptions, type RedisCodeStore } from './stores/redis';
export type { PasswordlessUser } from './session';
export type { UserHooks, UserHookContext, UserProfile } from './users';
export type { TokensOptions, AudienceOptions } from './tokens/options';
export type { SigningKeyOptions } from './tokens/keys';
export type { DeliveryReport } from './http/delivery-reports';
export type { MetricsOptions } from './metrics';
export type {
  Client,
  CodeRecord,
  CodeStore,
  Logger,
  OtpOptions,
  PasswordlessOptions,
  PhoneNumberType,
  RateLimitOptions,
  SmsMessage,
  SmsSender,
  StoreContext,
  VerifyOutcome,
  VerifyResult,
} from './types';
