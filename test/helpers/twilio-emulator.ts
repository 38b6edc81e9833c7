export * from '../../lib/testing/twilio-emulator';
