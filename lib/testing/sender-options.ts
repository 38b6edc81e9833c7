/**
 * twilioSender options that reach a running emulator: its test credentials, its Messaging
 * Service SID and its httpClient.
 */
import type { TwilioHttpClient } from '../senders/twilio';
import { ACCOUNT_SID, AUTH_TOKEN, SERVICE_SID, type TwilioEmulator } from './twilio-emulator';

export interface EmulatorSenderOptions {
  accountSid: string;
  authToken: string;
  messagingServiceSid: string;
  httpClient: TwilioHttpClient;
}

/** `twilioSender(emulatorSenderOptions(emulator))` sends through the SDK to the emulator. */
export function emulatorSenderOptions(emulator: Pick<TwilioEmulator, 'httpClient'>): EmulatorSenderOptions {
  return { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, messagingServiceSid: SERVICE_SID, httpClient: emulator.httpClient() };
}
