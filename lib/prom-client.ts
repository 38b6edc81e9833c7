/**
 * `prom-client`, loaded only when `metrics.registry` is given: it is an optional peer
 * dependency, so apps without metrics neither install nor load it.
 */
import type * as PromClient from 'prom-client';
import { optionError } from './errors';

export type PromClientModule = typeof PromClient;

let promClient: PromClientModule | undefined;

export function loadPromClient(): PromClientModule {
  if (promClient) return promClient;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional, loaded on demand on purpose
    promClient = require('prom-client') as PromClientModule;
  } catch (err) {
    // Only prom-client itself missing is the user's set-up; a broken install stays as it is.
    const missing = (err as { code?: unknown }).code === 'MODULE_NOT_FOUND' && /'prom-client'/.test(String((err as Error).message));
    if (!missing) throw err;
    throw optionError('metrics.registry', 'needs the prom-client package, which is not installed: run `npm install prom-client`.');
  }
  return promClient;
}
