/**
 * The `twilio` SDK, loaded the first time something needs it. It is about 21 MB and most of
 * a cold `require` of this package; apps that send through another provider never pay it.
 */
import type TwilioModule from 'twilio';

type Twilio = typeof TwilioModule;

let sdk: Twilio | undefined;

export function loadTwilio(): Twilio {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand on purpose
  sdk ??= require('twilio') as Twilio;
  return sdk;
}
