/**
 * Preloaded into each README code block the README test runs: a server started on a fixed
 * port (the examples say 3000) listens on a free port instead, and the process exits once it
 * is up, so an example app is proven to start without blocking the suite.
 */
import http from 'node:http';

const originalListen = http.Server.prototype.listen;
http.Server.prototype.listen = function listenOnFreePort(this: http.Server, ...args: unknown[]) {
  const port = typeof args[0] === 'number' ? args[0] : undefined;
  if (port === undefined || port === 0) return originalListen.apply(this, args as never);
  const callback = args.find((a) => typeof a === 'function') as (() => void) | undefined;
  this.once('listening', () => setTimeout(() => process.exit(0), 300).unref());
  return (originalListen as (...a: unknown[]) => http.Server).call(this, 0, '127.0.0.1', callback);
} as typeof http.Server.prototype.listen;
