// Removes a build folder so that files deleted from lib/ do not linger in dist/.
const fs = require('node:fs');
for (const dir of process.argv.slice(2)) fs.rmSync(dir, { recursive: true, force: true });
