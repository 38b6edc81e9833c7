/**
 * express-passwordless-sms/testing: a fake Twilio on 127.0.0.1 for your app's own tests, so
 * they run the real twilioSender and SDK without the internet and read the codes it "sent".
 * Not loaded by the package root: only apps that import this subpath pay for it.
 */
export {
  startTwilioEmulator,
  ACCOUNT_SID,
  AUTH_TOKEN,
  SERVICE_SID,
  API_KEY,
  API_SECRET,
  type TwilioEmulator,
  type EmulatorBehaviour,
  type EmulatorMessage,
  type ReceivedRequest,
} from './twilio-emulator';
export { emulatorSenderOptions, type EmulatorSenderOptions } from './sender-options';
