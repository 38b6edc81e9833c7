import { startTwilioEmulator, type TwilioEmulator } from '../../lib/testing/twilio-emulator';

export * from '../../lib/testing/twilio-emulator';
export type { EmulatorBehaviour as Behaviour } from '../../lib/testing/twilio-emulator';

/**
 * Registers mocha hooks that start an emulator for the suite, with TWILIO_EDGE and
 * TWILIO_REGION cleared meanwhile (the SDK rewrites host names from them), and returns a
 * getter for it.
 */
export function useTwilioEmulator(): () => TwilioEmulator {
  let emulator: TwilioEmulator | undefined;
  const saved = { edge: process.env.TWILIO_EDGE, region: process.env.TWILIO_REGION };
  before(async () => {
    delete process.env.TWILIO_EDGE;
    delete process.env.TWILIO_REGION;
    emulator = await startTwilioEmulator();
  });
  after(async () => {
    await emulator?.close();
    if (saved.edge !== undefined) process.env.TWILIO_EDGE = saved.edge;
    if (saved.region !== undefined) process.env.TWILIO_REGION = saved.region;
  });
  return () => emulator as TwilioEmulator;
}
