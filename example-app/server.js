// `npm start`: runs the example app with whatever the environment configures (nothing
// needed: memory store and the development outbox).
'use strict';
const { readConfig } = require('./config');
const { createApp } = require('./app');

/** A sentence for a listen failure; the usual one, a busy port, says which variable to change. */
function listenErrorMessage(err, port) {
  if (err.code === 'EADDRINUSE')
    return `[example-app] port ${port} is already in use: set PORT=... to a free port (for example PORT=${port + 1} npm start), or stop the program that uses it.`;
  if (err.code === 'EACCES') return `[example-app] port ${port} needs more privileges: set PORT=... to a port above 1023.`;
  return `[example-app] cannot listen on port ${port}: ${err.message}`;
}

async function main() {
  const config = readConfig();
  const { app, close } = await createApp(config);
  // Created before listening so that a busy port reaches this handler: without it, Express
  // calls the listening callback with the error and server.address() is null there.
  const server = require('node:http').createServer(app);
  server.once('error', (err) => {
    console.error(listenErrorMessage(err, config.port));
    close().finally(() => process.exit(1));
  });
  server.listen(config.port, config.host, () => {
    const address = server.address();
    const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${address.port}`;
    console.log(`[example-app] listening on ${url}`);
    if (!config.twilio) console.log(`[example-app] development outbox: ${url}/dev/outbox`);
  });
  const stop = () => server.close(() => close().finally(() => process.exit(0)));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  console.error(`[example-app] cannot start: ${err.message}`);
  process.exit(1);
});
