/** A logger that keeps every event it is given, for tests that read the events back. */
import type { Logger } from '../../lib';

export function recorder(): { logger: Logger; events: Array<Record<string, unknown>> } {
  const events: Array<Record<string, unknown>> = [];
  const push = (e: Record<string, unknown>) => void events.push(e);
  return { logger: { info: push, warn: push, error: push }, events };
}
