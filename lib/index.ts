/** The public API of express-passwordless-sms (see the README). */
import './http/augment';

export {
  passwordless,
  type Passwordless,
  type StartOutcome,
  type VerifyOutcome,
  type LogoutOutcome,
  type Refused,
} from './http/passwordless';
export { PasswordlessError, ConfigurationError, ErrorCodes, CATALOGUE, WRONG_CODE_MESSAGE, type ErrorCode, type ErrorName } from './errors';
export { twilioSender, type TwilioSenderOptions, type TwilioMessagesClient, type TwilioHttpClient } from './senders/twilio';
export { gatewaySender, type GatewaySenderOptions } from './senders/gateway';
export { fallbackSender, type FallbackSenderOptions, type FailoverEvent } from './senders/fallback';
export {
  fromAuth0Connection,
  type Auth0Connection,
  type Auth0ConnectionSettings,
  type FromAuth0ConnectionExtras,
} from './auth0/connection';
export { consoleSender, type ConsoleSenderOptions } from './senders/console';
export { outboxSender, type OutboxSender, type OutboxSenderOptions, type OutboxMessage } from './senders/outbox';
export { memoryStore, type MemoryStoreOptions } from './stores/memory';
export { sessionStore, type SessionStoreOptions, type SessionCodeStore } from './stores/session';
export { redisStore, type RedisStoreOptions, type RedisCodeStore } from './stores/redis';
export { memoryLimits, type MemoryLimitsOptions, type MemoryLimitBackend } from './limits/memory';
export { redisLimits, type RedisLimitsOptions } from './limits/redis';
export { DEFAULTS } from './config/defaults';
export type { PasswordlessUser, UserHooks, UserHookContext, UserProfile } from './core/users';
export type { TokensOptions, AudienceOptions } from './tokens/config';
export type { SigningKeyOptions } from './tokens/keys';
export type { DeliveryReport } from './http/delivery-reports';
export type { MetricsOptions } from './metrics';
export type {
  Client,
  CodeRecord,
  CodeStore,
  FraudGuardOptions,
  LimitStore,
  Logger,
  OtpOptions,
  PasswordlessOptions,
  PhoneNumberType,
  RemovedCode,
  RateLimitOptions,
  SmsMessage,
  SmsSender,
  StoreContext,
  VerifyOutcome as CodeVerifyOutcome,
  VerifyResult,
} from './types';
