/**
 * Debian's Chromium driven by playwright-core: never a downloaded browser. In CI a missing
 * Chromium fails the run (.ci/run installs it); locally the tests skip with a message.
 */
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(context: Mocha.Context): Promise<Browser | undefined> {
  if (!fs.existsSync(CHROMIUM)) {
    if (process.env.CI) throw new Error(`The browser tests need ${CHROMIUM}: apt-get install chromium (.ci/run does it).`);
    console.warn(`    (skipped: install Debian's chromium to run the browser tests: apt-get install chromium)`);
    context.skip();
    return undefined;
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-gpu',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}
