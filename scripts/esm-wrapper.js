// Writes an ES module beside each entry's CommonJS build (dist/index.mjs, dist/testing/index.mjs)
// that re-exports it by name, so that `import { passwordless } from 'express-passwordless-sms'`
// works without relying on Node's static analysis of the CommonJS file.
const fs = require('node:fs');
const path = require('node:path');
const dist = path.join(__dirname, '..', 'dist');
// The package.json `exports` entries that have an `import` condition, without extension.
const ENTRIES = ['index', 'testing/index'];

function wrapper(entry) {
  const base = path.basename(entry);
  const names = Object.keys(require(path.join(dist, `${entry}.js`))).filter((n) => n !== 'default' && n !== '__esModule');
  return [`import cjs from './${base}.js';`, ...names.map((n) => `export const ${n} = cjs.${n};`), 'export default cjs;', ''].join('\n');
}

for (const entry of ENTRIES) fs.writeFileSync(path.join(dist, `${entry}.mjs`), wrapper(entry));
