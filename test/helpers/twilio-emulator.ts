export * from '../../lib/testing/twilio-emulator';
export type { EmulatorBehaviour as Behaviour } from '../../lib/testing/twilio-emulator';
