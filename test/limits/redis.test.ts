/**
 * The limits in a real Redis, through both client libraries: the shared server on 6379 for
 * the behaviour of the limits (each test with its own key prefix, deleted at the end), and
 * private servers for what needs a server of its own (command counts, a stall, an outage).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import Redis from 'ioredis';
import Redis6 from 'ioredis6';
import request from 'supertest';
import { memoryStore, outboxSender, redisLimits, redisStore, type PasswordlessOptions, type SmsSender } from '../../lib';
import {
  CONFIDENTIAL,
  OTHER_PHONE,
  PHONE,
  backendBody,
  lastCode,
  makeApp,
  makeClock,
  wrongCodeFor,
  type Clock,
  type TestApp,
} from '../helpers/app';
import { GIVE, SUCCEEDED, TAKE, VERIFY } from '../../lib/redis/scripts';
import {
  aroundScripts,
  deleteKeys,
  freePort,
  ioredis,
  ioredis6,
  isIoredis,
  nodeRedis,
  nodeRedis4,
  nodeRedis6,
  privateRedis,
  requireRedis,
  requireRedisServer,
  uniquePrefix,
  type NodeRedisClient,
  type PrivateRedis,
} from '../helpers/redis';
import { expect429, only, start, trustLoopback, verify } from '../helpers/limits';

type Client = NodeRedisClient | Redis;
const KINDS = ['node-redis', 'node-redis 4', 'node-redis 6', 'ioredis', 'ioredis 6'] as const;
type Kind = (typeof KINDS)[number];

/** `fused`: the default, a redisStore lending its backend to the limits. `redisLimits`: codes in memory, limits in Redis. */
const SETUPS = ['fused', 'redisLimits'] as const;
type Setup = (typeof SETUPS)[number];

const CONNECT: Record<Kind, (port: number) => Promise<Client>> = {
  'node-redis': nodeRedis,
  'node-redis 4': nodeRedis4,
  'node-redis 6': nodeRedis6,
  ioredis,
  'ioredis 6': ioredis6,
};
const connect = (kind: Kind, port = 6379): Promise<Client> => CONNECT[kind](port);

function closeClient(client: Client | undefined): void {
  if (!client) return;
  if (isIoredis(client)) client.disconnect();
  else client.destroy();
}

function isReady(client: Client): boolean {
  return isIoredis(client) ? client.status === 'ready' : client.isReady;
}

async function keysUnder(client: Client, prefix: string): Promise<string[]> {
  return isIoredis(client) ? client.keys(`${prefix}*`) : client.keys(`${prefix}*`);
}

function storeOptions(setup: Setup, client: Client, prefix: string): Partial<PasswordlessOptions> {
  return setup === 'fused'
    ? { store: redisStore({ client, prefix }) }
    : { store: memoryStore(), limitStore: redisLimits({ client, prefix }) };
}

function expect503(res: request.Response): void {
  assert.equal(res.status, 503, `${res.status} ${JSON.stringify(res.body)}`);
  assert.equal(res.body.error, 'temporarily_unavailable');
  assert.ok(Number(res.headers['retry-after']) > 0, `Retry-After: ${res.headers['retry-after']}`);
}

/** An ioredis client as apps make it: its offline queue on, and ioredis' 20 retries per command (the helper's allows 1). */
async function queueingIoredis(port: number, major: 5 | 6): Promise<Redis> {
  const options = { host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => 100 };
  const client = major === 6 ? (new Redis6(options) as unknown as Redis) : new Redis(options);
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function timed(req: PromiseLike<request.Response>): Promise<{ res: request.Response; ms: number }> {
  const t0 = Date.now();
  const res = await req;
  return { res, ms: Date.now() - t0 };
}

/**
 * MONITOR on a private server: the commands clients sent (not those scripts ran), between two
 * marks. A mark is an ECHO from the admin connection; MONITOR shows commands in the order the
 * server ran them, so once the mark is seen every command before it has been seen too.
 */
async function monitor(port: number): Promise<{ mark(admin: NodeRedisClient): Promise<string[]>; close(): void }> {
  const socket = net.connect(port, '127.0.0.1');
  let buffer = '';
  let seen: string[] = [];
  const waiting = new Map<string, () => void>();
  socket.on('data', (d) => {
    buffer += d.toString();
    const lines = buffer.split('\r\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]+)"(?: "([^"]*)")?/.exec(line);
      if (!m || m[1] === 'lua') continue;
      const command = (m[2] as string).toLowerCase();
      if (command === 'echo' && waiting.has(m[3] as string)) waiting.get(m[3] as string)?.();
      else if (command !== 'echo') seen.push(command);
    }
  });
  // Resolved on MONITOR's +OK: a marker sent before the monitor is active would never be seen.
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => socket.write('MONITOR\r\n'));
    const ready = (d: Buffer) => {
      if (!d.toString().startsWith('+OK')) return;
      socket.off('data', ready);
      resolve();
    };
    socket.on('data', ready);
  });
  let marks = 0;
  return {
    async mark(admin) {
      const marker = `mark-${(marks += 1)}`;
      const arrived = new Promise<void>((resolve) => waiting.set(marker, resolve));
      await admin.echo(marker);
      await arrived;
      const commands = seen;
      seen = [];
      return commands;
    },
    close: () => socket.destroy(),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(what: string, check: () => boolean, tries = 100): Promise<void> {
  for (let i = 0; i < tries && !check(); i += 1) await sleep(100);
  assert.ok(check(), `timed out waiting until ${what}`);
}

describe('limits in Redis', function () {
  before(async function () {
    await requireRedis(this);
  });

  for (const kind of KINDS) {
    describe(`on the shared Redis (${kind})`, () => {
      let client: Client | undefined;
      before(async () => {
        client = await connect(kind);
      });
      after(() => closeClient(client));

      it("leaves no pending code and gives the number back when a send fails after the request's Redis deadline", async () => {
        const c = client as Client;
        const prefix = uniquePrefix();
        const outbox = outboxSender();
        const sent: string[] = [];
        let failures = 1;
        // A provider that answers an error after longer than the store's timeout (a slow Twilio error).
        const sender: SmsSender = {
          async send(message) {
            sent.push(message.body);
            if (failures > 0) {
              failures -= 1;
              await sleep(150);
              throw new Error('provider timed out');
            }
            return outbox.send(message);
          },
        };
        const t = makeApp({
          store: redisStore({ client: c, prefix, timeoutMs: 50 }),
          sender,
          rateLimits: only({ resendCooldownSeconds: 30 }),
          otp: { maxAttempts: 5 },
          logger: false,
        });
        try {
          const failed = await start(t.app);
          assert.equal(failed.status, 502, JSON.stringify(failed.body));
          const unsent = /\d{6}/.exec(sent[0] as string)?.[0] as string;
          // The code of the failed send is gone: it never logs in.
          await verify(t.app, unsent).expect(403);
          assert.deepEqual(
            (await keysUnder(c, prefix)).filter((k) => k.includes(':code:')),
            [],
          );
          await start(t.app).expect(200);
          await verify(t.app, lastCode(outbox)).expect(200);
        } finally {
          await deleteKeys(c, prefix);
        }
      });

      for (const setup of SETUPS) {
        /** An app with its limits (and with `fused` its codes) under a prefix of its own, deleted by `run`. */
        async function run(
          options: Partial<PasswordlessOptions>,
          test: (t: TestApp, c: Client, prefix: string) => Promise<void>,
        ): Promise<void> {
          const c = client as Client;
          const prefix = uniquePrefix();
          const t = makeApp({ ...storeOptions(setup, c, prefix), logger: false, ...options }, trustLoopback);
          try {
            await test(t, c, prefix);
          } finally {
            await deleteKeys(c, prefix);
          }
        }

        it(`answers concurrent wrong client secrets 401 only failedClientAuthPerIpPerHour times, and never refuses concurrent right ones (${setup})`, () =>
          run({ rateLimits: only({ failedClientAuthPerIpPerHour: 2 }) }, async (t) => {
            const backendStart = (secret: string, i: number) =>
              request(t.app)
                .post('/passwordless/start')
                .set('x-forwarded-for', '10.0.0.9')
                .send(backendBody({ client_secret: secret, phone_number: `+1415555${String(2000 + i)}` }));
            const right = await Promise.all(Array.from({ length: 10 }, (_, i) => backendStart(CONFIDENTIAL.secret, i)));
            assert.deepEqual(
              right.map((r) => r.status),
              Array(10).fill(200),
            );
            const wrong = await Promise.all(Array.from({ length: 20 }, (_, i) => backendStart('not-the-secret', i)));
            const statuses = wrong.map((r) => r.status).sort();
            assert.deepEqual(statuses, [...Array(2).fill(401), ...Array(18).fill(429)]);
            // Its secret is a generated one: the neighbour's full count does not lock the backend
            // out (a phrase is refused then too: the memory backend's tests).
            assert.equal((await backendStart(CONFIDENTIAL.secret, 99)).status, 200);
          }));

        it(`follows the injected clock: the cooldown ends when the clock passes it (${setup})`, () =>
          run({ rateLimits: only({ resendCooldownSeconds: 30 }) }, async (t, c, prefix) => {
            await start(t.app).expect(200);
            // The window is on the app's clock: exactly 30 s are left, however long Redis took.
            assert.equal(expect429(await start(t.app)), 30);
            t.clock.advance(29_000);
            assert.equal(expect429(await start(t.app)), 1);
            t.clock.advance(1_000);
            await start(t.app).expect(200);
            assert.equal(t.outbox.messages.length, 2);
            const keys = await keysUnder(c, prefix);
            assert.ok(
              keys.some((k) => k.endsWith(':rl:resendCooldownSeconds')),
              `the cooldown is kept in Redis: ${keys.join(', ')}`,
            );
            assert.equal(
              keys.some((k) => k.includes(':code:')),
              setup === 'fused',
              `codes in Redis only with the redisStore: ${keys.join(', ')}`,
            );
          }));

        it(`checks before it counts: an address over startsPerIpPerHour spends nothing of a victim number's (${setup})`, () =>
          run(
            { rateLimits: only({ startsPerIpPerHour: 2, resendCooldownSeconds: 30, sendsPerPhonePerHour: 1, sendsPerPhonePerDay: 1 }) },
            async (t) => {
              const victim = '+14155550199';
              await start(t.app, '+14155550101', '10.0.0.1').expect(200);
              await start(t.app, '+14155550102', '10.0.0.1').expect(200);
              const refused = await start(t.app, victim, '10.0.0.1');
              expect429(refused);
              assert.match(refused.body.error_description, /network/);
              // The victim's cooldown, hour and day (each 1) are untouched: a start from elsewhere works.
              await start(t.app, victim, '10.0.0.2').expect(200);
              assert.equal(t.outbox.messages.filter((m) => m.to === victim).length, 1);
            },
          ));

        it(`gives the number's cooldown, hour and day back when the send fails, but not the address's (${setup})`, async () => {
          const outbox = outboxSender();
          let failures = 1;
          const sender: SmsSender = {
            async send(message) {
              if (failures > 0) {
                failures -= 1;
                throw new Error('provider down');
              }
              return outbox.send(message);
            },
          };
          await run(
            {
              sender,
              rateLimits: only({ startsPerIpPerHour: 2, resendCooldownSeconds: 30, sendsPerPhonePerHour: 1, sendsPerPhonePerDay: 1 }),
            },
            async (t) => {
              const failed = await start(t.app, PHONE, '10.0.0.1');
              assert.equal(failed.status, 502, JSON.stringify(failed.body));
              assert.equal(failed.body.error, 'sms_provider_error');
              // At once, on the same clock: nothing of the number's was kept.
              await start(t.app, PHONE, '10.0.0.1').expect(200);
              assert.equal(outbox.messages.length, 1);
              await verify(t.app, lastCode(outbox), PHONE, '10.0.0.1').expect(200);
              // The address counted both starts (limit 2): a third from it is refused, not from another.
              const third = await start(t.app, '+14155550102', '10.0.0.1');
              expect429(third);
              assert.match(third.body.error_description, /network/);
              await start(t.app, '+14155550102', '10.0.0.2').expect(200);
            },
          );
        });

        it(`counts no failed verify while no code is pending: 12 wrong verifies do not lock the owner out (${setup})`, () =>
          run({ rateLimits: {} }, async (t) => {
            // The defaults: failedVerifiesPerPhonePerHour 10, failedVerifiesPerIpPerHour 100.
            for (let i = 0; i < 12; i += 1) {
              const res = await verify(t.app, '123456');
              assert.equal(res.status, 403, `wrong verify ${i + 1}: ${res.status} ${JSON.stringify(res.body)}`);
            }
            await start(t.app).expect(200);
            await verify(t.app, lastCode(t.outbox)).expect(200);
          }));

        it(`counts failed verifies while a code is pending, per number and address: failedVerifiesPerPhonePerHour answers too_many_attempts (${setup})`, () =>
          run({ rateLimits: only({ failedVerifiesPerPhonePerHour: 3 }), otp: { maxAttempts: 10 } }, async (t) => {
            await start(t.app).expect(200);
            const code = lastCode(t.outbox);
            // Counted per number and address: the guesser is refused, even with the right code...
            for (let i = 0; i < 3; i += 1) await verify(t.app, wrongCodeFor(code), PHONE, '10.0.0.3').expect(403);
            expect429(await verify(t.app, code, PHONE, '10.0.0.3'), 'too_many_attempts');
            // ...while the owner, from elsewhere, logs in with it.
            await verify(t.app, code, PHONE, '10.0.0.4').expect(200);
            // Another number is not concerned.
            await start(t.app, '+14155550102').expect(200);
            await verify(t.app, lastCode(t.outbox, '+14155550102'), '+14155550102').expect(200);
          }));

        it(`counts each login as a redemption of its prefix: a prefix whose codes are used is never paused (${setup})`, () =>
          run({ rateLimits: only({}), fraudGuard: { minSends: 3, minConversion: 0.5 } }, async (t) => {
            const numbers = ['+14155550141', '+14155550142', '+14155550143', '+14155550144'];
            for (const [i, n] of numbers.slice(0, 3).entries()) {
              await start(t.app, n, `10.0.2.${i + 1}`).expect(200);
              await verify(t.app, lastCode(t.outbox, n), n, `10.0.2.${i + 1}`).expect(200);
            }
            await start(t.app, numbers[3] as string, '10.0.2.9').expect(200);
          }));

        it(`starts the number's failed verifies over after a login from that address (${setup})`, () =>
          run({ rateLimits: only({ failedVerifiesPerPhonePerHour: 3 }), otp: { maxAttempts: 10 } }, async (t) => {
            await start(t.app).expect(200);
            const first = lastCode(t.outbox);
            for (let i = 0; i < 2; i += 1) await verify(t.app, wrongCodeFor(first), PHONE, '10.0.0.3').expect(403);
            await verify(t.app, first, PHONE, '10.0.0.3').expect(200);
            await start(t.app).expect(200);
            const second = lastCode(t.outbox);
            // Two typos before the login no longer count: one more is the first of three again.
            await verify(t.app, wrongCodeFor(second), PHONE, '10.0.0.3').expect(403);
            await verify(t.app, second, PHONE, '10.0.0.3').expect(200);
          }));

        it(`limits failedVerifiesPerIpPerHour per address (an IPv6 /64), not for other addresses (${setup})`, () =>
          run({ rateLimits: only({ failedVerifiesPerIpPerHour: 3 }), otp: { maxAttempts: 10 } }, async (t) => {
            await start(t.app, PHONE, '2001:db8:1:1::1').expect(200);
            const code = lastCode(t.outbox);
            for (let i = 0; i < 3; i += 1) await verify(t.app, wrongCodeFor(code), PHONE, '2001:db8:1:1::1').expect(403);
            const refused = await verify(t.app, code, PHONE, '2001:db8:1:1::1');
            expect429(refused);
            assert.match(refused.body.error_description, /wrong codes were entered from this network/);
            expect429(await verify(t.app, code, PHONE, '2001:db8:1:1:ffff::2'));
            await verify(t.app, code, PHONE, '2001:db8:1:2::1').expect(200);
          }));

        if (setup === 'fused') {
          for (const [guard, fraudGuard] of [
            ['with', undefined],
            ['without', false],
          ] as const)
            it(`answers a start whose script ran twice (a reply lost, the call resent) as it ran once: sent, not refused (fused, ${guard} the fraud guard)`, () =>
              run(
                {
                  rateLimits: only({ resendCooldownSeconds: 30, sendsPerPhonePerHour: 1 }),
                  ...(fraudGuard === false ? { fraudGuard } : {}),
                },
                async (t, c) => {
                  const replayed = aroundScripts(c, (_name, args, send) => (args.includes(TAKE.sha) ? send().then(() => send()) : send()));
                  try {
                    await start(t.app).expect(200);
                  } finally {
                    replayed();
                  }
                  assert.equal(t.outbox.messages.length, 1);
                  await verify(t.app, lastCode(t.outbox), PHONE, '10.0.0.1').expect(200);
                },
              ));

          it('answers a verify whose script ran twice (a reply lost, the call resent) as it ran once: a login, the code still spent for any other call (fused)', () =>
            run({ rateLimits: only({ failedVerifiesPerPhonePerHour: 3 }) }, async (t, c) => {
              await start(t.app).expect(200);
              const code = lastCode(t.outbox);
              const replayed = aroundScripts(c, (_name, args, send) => (args.includes(VERIFY.sha) ? send().then(() => send()) : send()));
              try {
                const login = await verify(t.app, code, PHONE, '10.0.0.1').expect(200);
                assert.equal(login.body.user.phone_number, PHONE);
              } finally {
                replayed();
              }
              await verify(t.app, code, PHONE, '10.0.0.1').expect(403);
              await verify(t.app, code, PHONE, '10.0.0.2').expect(403);
            }));

          it("answers a resent verify as its first run even when the address's wrong guesses filled its bucket in between (fused)", () =>
            run({ rateLimits: only({ failedVerifiesPerIpPerHour: 1 }) }, async (t, c) => {
              await start(t.app, PHONE, '10.0.0.5').expect(200);
              const code = lastCode(t.outbox);
              await start(t.app, OTHER_PHONE, '10.0.0.6').expect(200);
              let resent = false;
              const replayed = aroundScripts(c, (_name, args, send) => {
                if (resent || !args.includes(VERIFY.sha)) return send();
                resent = true;
                // Between the two runs, a wrong guess from the same address fills its bucket.
                return send()
                  .then(() => verify(t.app, wrongCodeFor(lastCode(t.outbox, OTHER_PHONE)), OTHER_PHONE, '10.0.0.1').expect(403))
                  .then(() => send());
              });
              try {
                await verify(t.app, code, PHONE, '10.0.0.1').expect(200);
              } finally {
                replayed();
              }
              expect429(await verify(t.app, lastCode(t.outbox, OTHER_PHONE), OTHER_PHONE, '10.0.0.1'));
            }));
        }

        if (setup === 'redisLimits') {
          it('keeps a login a login when the limits fail after its code was spent, and counts no failure when a reply is lost (redisLimits)', () =>
            run({ rateLimits: only({ failedVerifiesPerIpPerHour: 1 }) }, async (t, c) => {
              await start(t.app).expect(200);
              const code = lastCode(t.outbox);
              // The limits' Redis fails every call after the code was tried: the login stands.
              const down = aroundScripts(c, (_name, args, send) =>
                args.includes(SUCCEEDED.sha) || args.includes(GIVE.sha) ? Promise.reject(new Error('ECONNRESET')) : send(),
              );
              try {
                await verify(t.app, code, PHONE, '10.0.0.1').expect(200);
              } finally {
                down();
              }
              // The address's take runs but its reply is lost (503): given back, it is no wrong guess.
              await start(t.app, OTHER_PHONE, '10.0.0.2').expect(200);
              const other = lastCode(t.outbox, OTHER_PHONE);
              const lost = aroundScripts(c, (_name, args, send) =>
                args.includes(TAKE.sha) ? send().then(() => Promise.reject(new Error('ECONNRESET'))) : send(),
              );
              try {
                expect503(await verify(t.app, wrongCodeFor(other), OTHER_PHONE, '10.0.0.3'));
              } finally {
                lost();
              }
              await verify(t.app, wrongCodeFor(other), OTHER_PHONE, '10.0.0.3').expect(403);
              expect429(await verify(t.app, other, OTHER_PHONE, '10.0.0.3'));
            }));
        }

        it(`counts concurrent wrong guesses from one address exactly: none passes a check made before the others counted (${setup})`, () =>
          run({ rateLimits: only({ failedVerifiesPerIpPerHour: 3 }) }, async (t) => {
            const numbers = Array.from({ length: 8 }, (_, i) => `+1415555${String(300 + i).padStart(4, '0')}`);
            for (const [i, n] of numbers.entries()) await start(t.app, n, `10.0.1.${i + 1}`).expect(200);
            const answers = await Promise.all(numbers.map((n) => verify(t.app, wrongCodeFor(lastCode(t.outbox, n)), n, '10.0.0.9')));
            assert.deepEqual(answers.map((a) => a.status).sort(), [403, 403, 403, 429, 429, 429, 429, 429]);
            // The refused guesses tried no code: each still opens from elsewhere.
            for (const n of numbers.filter((_, i) => answers[i]?.status === 429))
              await verify(t.app, lastCode(t.outbox, n), n, '10.0.0.10').expect(200);
          }));

        it(`shares limits and a fraud-guard pause between two instances; the injected clock ends the pause (${setup})`, async () => {
          const second = await connect(kind);
          const prefix = uniquePrefix();
          const clock: Clock = makeClock();
          const options = {
            rateLimits: only({ resendCooldownSeconds: 30 }),
            fraudGuard: { minSends: 3, minConversion: 0.5, prefixDigits: 6, windowSeconds: 60, blockSeconds: 120 },
            now: clock.now,
            logger: false as const,
          };
          const a = makeApp({ ...storeOptions(setup, client as Client, prefix), ...options }, trustLoopback);
          const b = makeApp({ ...storeOptions(setup, second, prefix), ...options }, trustLoopback);
          try {
            // The cooldown, shared (a number of another prefix: +1 650 555).
            await start(a.app, '+16505550123').expect(200);
            expect429(await start(b.app, '+16505550123'));
            clock.advance(30_000);
            await start(b.app, '+16505550123').expect(200);
            // Three sends to +1 415 555…, none redeemed: the fourth start pauses the prefix.
            await start(a.app, '+14155550101').expect(200);
            await start(b.app, '+14155550102').expect(200);
            await start(a.app, '+14155550103').expect(200);
            assert.equal(expect429(await start(b.app, '+14155550104')), 120);
            const paused = await start(a.app, '+14155550105');
            assert.equal(expect429(paused), 120);
            assert.match(paused.body.error_description, /paused/);
            await start(a.app, '+14165550105').expect(200);
            // Both windows have passed by now; only the pause refuses, until the clock passes it.
            clock.advance(119_000);
            assert.equal(expect429(await start(b.app, '+14155550106')), 1);
            clock.advance(1_000);
            await start(b.app, '+14155550106').expect(200);
          } finally {
            await deleteKeys(second, prefix);
            closeClient(second);
          }
        });
      }
    });
  }

  /** A private redis-server with an admin connection and a `kind` client, torn down after `run`. */
  async function onPrivateRedis(
    kind: (typeof KINDS)[number],
    extraArgs: readonly string[],
    run: (redis: { server: PrivateRedis; admin: NodeRedisClient; client: Client }) => Promise<void>,
  ): Promise<void> {
    const server = privateRedis(await freePort(), extraArgs);
    let admin: NodeRedisClient | undefined;
    let client: Client | undefined;
    try {
      await server.start();
      admin = await nodeRedis(server.port);
      client = await connect(kind, server.port);
      await run({ server, admin, client });
    } finally {
      closeClient(client);
      admin?.destroy();
      await server.destroy();
    }
  }

  describe('on a private redis-server', function () {
    before(async function () {
      await requireRedisServer(this);
    });

    for (const kind of KINDS) {
      it(`makes one Redis call per start and per verify with the default setup: a single EVALSHA (${kind})`, async function () {
        this.timeout(30_000);
        await onPrivateRedis(kind, [], async ({ server, admin, client }) => {
          // The defaults: every default limit and the fraud guard, codes and limits in the store's Redis.
          const t = makeApp({ store: redisStore({ client }), rateLimits: {}, logger: false });
          const watch = await monitor(server.port);
          const sent = async (req: () => PromiseLike<request.Response>, status: number): Promise<string[]> => {
            await watch.mark(admin);
            const res = await req();
            assert.equal(res.status, status, JSON.stringify(res.body));
            return watch.mark(admin);
          };
          try {
            // A fresh server knows no script: the first call loads all six first, once, and reads
            // the server's clock with them (TIME: a clock apart is warned of).
            const loadAll = [...Array<string>(6).fill('script'), 'time'];
            assert.deepEqual(await sent(() => start(t.app), 200), [...loadAll, 'evalsha']);
            assert.deepEqual(await sent(() => verify(t.app, lastCode(t.outbox)), 200), ['evalsha']);
            const other = '+14155550102';
            assert.deepEqual(await sent(() => start(t.app, other), 200), ['evalsha']);
            const code = lastCode(t.outbox, other);
            assert.deepEqual(await sent(() => verify(t.app, wrongCodeFor(code), other), 403), ['evalsha']);
            assert.deepEqual(await sent(() => verify(t.app, code, other), 200), ['evalsha']);
            // A refused start is one call too.
            assert.deepEqual(await sent(() => start(t.app, other), 429), ['evalsha']);
            // A restart empties the cache: the call that meets NOSCRIPT loads all six again, without
            // waiting for them, and is resent with its source; the next call finds them.
            await admin.sendCommand(['SCRIPT', 'FLUSH']);
            // (The resend and the loads go out together, in an order that is the client's.)
            const [first, ...rest] = await sent(() => start(t.app, '+14155550103'), 200);
            assert.equal(first, 'evalsha');
            assert.deepEqual(rest.sort(), [...loadAll, 'eval'].sort());
            assert.deepEqual(await sent(() => start(t.app, '+14155550104'), 200), ['evalsha']);
          } finally {
            watch.close();
          }
        });
      });

      it(`works for a Redis user whose ACL allows EVALSHA and EVAL but not SCRIPT LOAD (${kind})`, async function () {
        this.timeout(30_000);
        await onPrivateRedis(kind, [], async ({ admin, client }) => {
          // Applies to the connections already open, the client's among them.
          await admin.sendCommand(['ACL', 'SETUSER', 'default', '-script']);
          const t = makeApp({ store: redisStore({ client }), rateLimits: only({ resendCooldownSeconds: 30 }), logger: false });
          await start(t.app).expect(200);
          expect429(await start(t.app));
          await verify(t.app, lastCode(t.outbox)).expect(200);
        });
      });

      it(`answers 503 with Retry-After, in bounded time, while Redis stalls; the stalled requests do nothing (${kind})`, async function () {
        this.timeout(30_000);
        await onPrivateRedis(kind, ['--enable-debug-command', 'yes'], async ({ admin, client }) => {
          // Strict limits: a single stalled failure that ran late would lock the number or void the code.
          const t = makeApp({
            store: redisStore({ client, timeoutMs: 300 }),
            rateLimits: only({ resendCooldownSeconds: 30, failedVerifiesPerPhonePerHour: 1, failedVerifiesPerIpPerHour: 1 }),
            otp: { maxAttempts: 1 },
            logger: false,
          });
          await start(t.app).expect(200);
          const code = lastCode(t.outbox);
          t.clock.advance(31_000);
          const stall = admin.sendCommand(['DEBUG', 'SLEEP', '2']);
          await sleep(100);
          const during = await Promise.all([
            timed(verify(t.app, wrongCodeFor(code))),
            timed(
              verify(
                t.app,
                wrongCodeFor(code).replace(/.$/, (d) => String((Number(d) + 1) % 10)),
              ),
            ),
            timed(verify(t.app, code)),
            timed(start(t.app)),
          ]);
          for (const { res, ms } of during) {
            expect503(res);
            assert.ok(ms < 1500, `answered after ${ms} ms; the store's timeout is 300 ms`);
          }
          await stall;
          // The stalled scripts ran after their deadline and did nothing: the code still works.
          await verify(t.app, code).expect(200);
          // The stalled start did not spend the cooldown (the first one has passed on the clock).
          await start(t.app).expect(200);
          await verify(t.app, lastCode(t.outbox)).expect(200);
          assert.equal(t.outbox.messages.length, 2);
        });
      });

      it(`answers a first request on a stalled Redis 503 in bounded time, loading its scripts included, and works after (${kind})`, async function () {
        this.timeout(30_000);
        await onPrivateRedis(kind, ['--enable-debug-command', 'yes'], async ({ admin, client }) => {
          const t = makeApp({
            store: redisStore({ client, timeoutMs: 300 }),
            rateLimits: only({ resendCooldownSeconds: 30 }),
            logger: false,
          });
          const stall = admin.sendCommand(['DEBUG', 'SLEEP', '2']);
          await sleep(100);
          const { res, ms } = await timed(start(t.app));
          expect503(res);
          assert.ok(ms < 1500, `answered after ${ms} ms; the store's timeout is 300 ms`);
          await stall;
          // The stalled start ran after its deadline and did nothing: no cooldown for the number.
          await start(t.app).expect(200);
          await verify(t.app, lastCode(t.outbox)).expect(200);
        });
      });

      it(`fails fast while the client is not connected, and a request answered 503 does not run later (${kind})`, async function () {
        this.timeout(30_000);
        const server: PrivateRedis = privateRedis(await freePort());
        let client: Client | undefined;
        try {
          await server.start();
          // Each library with its defaults (an offline queue, ioredis' 20 retries per command): the store must not rely on them.
          client =
            kind === 'ioredis' || kind === 'ioredis 6'
              ? await queueingIoredis(server.port, kind === 'ioredis' ? 5 : 6)
              : await connect(kind, server.port);
          const c = client;
          const t = makeApp({
            store: redisStore({ client, timeoutMs: 300 }),
            rateLimits: only({ resendCooldownSeconds: 30, failedVerifiesPerPhonePerHour: 1 }),
            otp: { maxAttempts: 1 },
            logger: false,
          });
          await start(t.app).expect(200);
          const code = lastCode(t.outbox);
          // The server goes away with its data saved; it comes back with the pending code.
          await server.shutdown();
          await waitUntil('the client noticed the outage', () => !isReady(c));
          const during = [
            await timed(verify(t.app, wrongCodeFor(code))),
            await timed(verify(t.app, code)),
            await timed(start(t.app, '+14155550102')),
          ];
          for (const { res, ms } of during) {
            expect503(res);
            assert.ok(ms < 1500, `answered after ${ms} ms`);
          }
          await server.start();
          await waitUntil('the client is ready again', () => isReady(c));
          // Nothing answered 503 ran on reconnect: the code was neither voided nor consumed,
          // and the number that could not start has no cooldown.
          await verify(t.app, code).expect(200);
          await start(t.app, '+14155550102').expect(200);
          await verify(t.app, lastCode(t.outbox, '+14155550102'), '+14155550102').expect(200);
        } finally {
          closeClient(client);
          await server.destroy();
        }
      });
    }
  });
});
