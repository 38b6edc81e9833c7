// `npm start`: runs the example app with whatever the environment configures (nothing
// needed: memory store and the development outbox).
'use strict';
const { readConfig } = require('./config');
const { createApp } = require('./app');

async function main() {
  const config = readConfig();
  const { app, close } = await createApp(config);
  const server = app.listen(config.port, config.host, () => {
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
