/**
 * Loaded with `mocha --require` for the Express 4 run: every `require('express')` (the
 * package's and the tests') resolves to Express 4 (the `express4` alias), as it does for a
 * user whose app is on Express 4.
 */
import Module from 'node:module';

const moduleWithResolve = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
const original = moduleWithResolve._resolveFilename;
moduleWithResolve._resolveFilename = function resolveExpress4(request: string, ...rest: unknown[]): string {
  return original.call(this, request === 'express' ? 'express4' : request, ...rest);
};

// eslint-disable-next-line @typescript-eslint/no-require-imports
const version: string = require('express4/package.json').version;
if (!version.startsWith('4.')) throw new Error(`express4 alias is ${version}, expected 4.x`);
