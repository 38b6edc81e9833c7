/**
 * Codes and limits on a real Redis Cluster (three local masters, started for this file):
 * node-redis `createCluster` and ioredis `Cluster`, each given one node to discover the
 * others from. The keys of a number, an address and a prefix live in different slots, so
 * scripts run on every node and a request spans nodes.
 */
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import Redis, { Cluster } from 'ioredis';
import { createCluster } from 'redis';
import { createCluster as createCluster4 } from 'redis4';
import { createCluster as createCluster6 } from 'redis6';
import Redis6 from 'ioredis6';
import { redisStore, type PasswordlessOptions, type RateLimitOptions } from '../../lib';
import { COUNT, DROP, GIVE, SUCCEEDED, TAKE, VERIFY } from '../../lib/redis/scripts';
import { OTHER_PHONE, PHONE, lastCode, makeApp, makeClock, wrongCodeFor, type TestApp } from '../helpers/app';
import { startCluster, type LocalCluster } from '../helpers/cluster';
import { aroundScripts, rawCommand, requireRedisServer, uniquePrefix, withDestroy } from '../helpers/redis';
import { expect429, heldFailingSender, only, start, trustLoopback, verify } from '../helpers/limits';
import { recorder } from '../helpers/log';

const KINDS = ['node-redis', 'node-redis 4', 'node-redis 6', 'ioredis', 'ioredis 6'] as const;
type Kind = (typeof KINDS)[number];
type NodeRedisCluster = ReturnType<typeof createCluster>;
type ClusterClient = NodeRedisCluster | Cluster;

async function clusterClient(kind: Kind, cluster: LocalCluster, node = 0): Promise<ClusterClient> {
  const root = cluster.nodes[node] as { host: string; port: number };
  if (kind === 'node-redis') {
    const client = createCluster({ rootNodes: [{ url: `redis://${root.host}:${root.port}` }] });
    client.on('error', () => {});
    await client.connect();
    return client;
  }
  if (kind === 'node-redis 4') {
    // The older major the peer range accepts.
    const client = createCluster4({ rootNodes: [{ url: `redis://${root.host}:${root.port}` }] });
    client.on('error', () => {});
    await client.connect();
    return withDestroy(client) as unknown as NodeRedisCluster;
  }
  if (kind === 'node-redis 6') {
    // The newest major the peer range accepts.
    const client = createCluster6({ rootNodes: [{ url: `redis://${root.host}:${root.port}` }] });
    client.on('error', () => {});
    await client.connect();
    return client as unknown as NodeRedisCluster;
  }
  const client = kind === 'ioredis 6' ? (new Redis6.Cluster([root]) as unknown as Cluster) : new Redis.Cluster([root]);
  client.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('end', () => reject(new Error('the ioredis Cluster client ended before it was ready')));
  });
  return client;
}

/**
 * Script calls made through `client` (each a round trip to one node), and the most in flight at
 * once. Counted by SHA: a node that does not know a script yet answers NOSCRIPT and is sent the
 * source, which is the same call again, not another one.
 */
function countScriptCalls(client: ClusterClient) {
  const seen = { calls: 0, mostAtOnce: 0, inFlight: 0 };
  const undo = aroundScripts(
    client,
    async (_name, args, send) => {
      // Each script call: by its SHA (the fallback with the source follows a NOSCRIPT only).
      if (args[0] === 'EVAL') return send();
      seen.calls += 1;
      seen.inFlight += 1;
      seen.mostAtOnce = Math.max(seen.mostAtOnce, seen.inFlight);
      try {
        return await send();
      } finally {
        seen.inFlight -= 1;
      }
    },
    ['evalSha', 'evalsha', 'sendCommand'],
  );
  return { seen, reset: () => Object.assign(seen, { calls: 0, mostAtOnce: 0 }), undo };
}

interface StoreErrors {
  readonly logger: { info(): void; warn(): void; error(entry: Record<string, unknown>): void };
  /** Every store_error logged so far. */
  readonly seen: Array<Record<string, unknown>>;
  /** The next store_error (or the first one already logged), within 5 s. */
  next(): Promise<Record<string, unknown>>;
}

/** A logger whose store_error events can be awaited: late failures are logged where no request waits. */
function storeErrors(): StoreErrors {
  const seen: Array<Record<string, unknown>> = [];
  const waiting: Array<(entry: Record<string, unknown>) => void> = [];
  const silent = () => undefined;
  return {
    seen,
    logger: {
      info: silent,
      warn: silent,
      error(entry) {
        if (entry.event !== 'store_error') return;
        seen.push(entry);
        for (const resolve of waiting.splice(0)) resolve(entry);
      },
    },
    next() {
      if (seen[0]) return Promise.resolve(seen[0]);
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        new Promise<Record<string, unknown>>((resolve) => waiting.push(resolve)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('no store_error was logged for the failed follow-up')), 5000);
        }),
      ]).finally(() => clearTimeout(timer));
    },
  };
}

function closeClient(client: ClusterClient | undefined): void {
  if (!client) return;
  // ioredis (5 and 6) has no destroy; node-redis has (4 through withDestroy).
  if (typeof (client as { destroy?: unknown }).destroy !== 'function') (client as Cluster).disconnect();
  else (client as NodeRedisCluster).destroy();
}

describe('codes and limits on a Redis Cluster', function () {
  let cluster: LocalCluster | undefined;
  before(async function () {
    this.timeout(60_000);
    await requireRedisServer(this);
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  for (const kind of KINDS) {
    describe(kind, () => {
      let client: ClusterClient | undefined;
      let second: ClusterClient | undefined;
      before(async function () {
        this.timeout(20_000);
        client = await clusterClient(kind, cluster as LocalCluster, 0);
        // The second instance's client discovers the cluster from another node.
        second = await clusterClient(kind, cluster as LocalCluster, 1);
      });
      after(() => {
        closeClient(client);
        closeClient(second);
      });

      const app = (options: Partial<PasswordlessOptions>, c = client): TestApp =>
        makeApp({ store: redisStore({ client: c, prefix: uniquePrefix() }), logger: false, ...options }, trustLoopback);

      it('loads every script on every master before its first call', async function () {
        this.timeout(20_000);
        const ports = (cluster as LocalCluster).ports;
        // Empty script caches, as on a cluster that never saw this package.
        for (const port of ports) assert.equal(await rawCommand(port, 'SCRIPT', 'FLUSH'), '+OK\r\n');
        const t = app({ rateLimits: only({ resendCooldownSeconds: 30 }) });
        await start(t.app, PHONE, '10.0.0.1').expect(200);
        // A node meeting a script as NOSCRIPT resends it with its source, and a call sent meanwhile
        // could overtake that resend (a give-back behind the next take): none is left to meet one.
        const shas = [COUNT, DROP, GIVE, SUCCEEDED, TAKE, VERIFY].map((s) => s.sha);
        for (const port of ports) {
          assert.equal(await rawCommand(port, 'SCRIPT', 'EXISTS', ...shas), `*6\r\n${':1\r\n'.repeat(6)}`, `scripts on ${port}`);
        }
      });

      it("reads every master's clock with the script loads, and warns of this host running ahead of them", async () => {
        const r = recorder();
        const realNow = Date.now;
        Date.now = () => realNow() + 5000;
        try {
          const t = app({ rateLimits: false, logger: r.logger });
          await start(t.app, PHONE, '10.0.0.1').expect(200);
          const warned = () => r.events.filter((e) => e.event === 'config_warning').map((e) => String(e.message));
          for (let i = 0; i < 50 && warned().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
          assert.equal(warned().length, 1, JSON.stringify(r.events));
          assert.match(warned()[0] as string, /This host's clock is \d+ ms ahead of Redis's/);
        } finally {
          Date.now = realNow;
        }
      });

      it('runs its scripts on whichever node serves a key: 60 starts and verifies over distinct numbers all succeed', async function () {
        this.timeout(20_000);
        const t = app({ rateLimits: { startsPerIpPerHour: 1000 } });
        const numbers = Array.from({ length: 60 }, (_, i) => `+1415555${String(100 + i).padStart(4, '0')}`);
        const statuses = await Promise.all(
          numbers.map(async (n) => {
            const started = await start(t.app, n);
            if (started.status !== 200) return `start ${n}: ${started.status} ${JSON.stringify(started.body)}`;
            const verified = await verify(t.app, lastCode(t.outbox, n), n);
            return verified.status === 200 ? 'ok' : `verify ${n}: ${verified.status} ${JSON.stringify(verified.body)}`;
          }),
        );
        assert.deepEqual(
          statuses.filter((s) => s !== 'ok'),
          [],
        );
      });

      it('counts several global limits at once, each in its own slot, and gives them back on a refusal', async () => {
        const t = app({
          rateLimits: only({ sendsPerDay: 2, sendsPerClientPerDay: 5, sendsPerPrefixPerHour: 10, resendCooldownSeconds: 30 }),
        });
        await start(t.app, '+14155550101', '10.0.0.1').expect(200);
        // The number's cooldown refuses after the globals counted: they are given back, after the
        // answer. Waited for here, so that the next start does not race them.
        const giveBacks: Array<Promise<unknown>> = [];
        const undo = aroundScripts(client as ClusterClient, (_name, args, send) => {
          const sent = send();
          if (args.includes(GIVE.sha) || args.includes(GIVE.source)) giveBacks.push(sent.catch(() => undefined));
          return sent;
        });
        try {
          expect429(await start(t.app, '+14155550101', '10.0.0.2'));
          while (giveBacks.length > 0) {
            await Promise.all(giveBacks.splice(0));
            await new Promise((resolve) => setImmediate(resolve));
          }
        } finally {
          undo();
        }
        await start(t.app, '+14155550102', '10.0.0.3').expect(200);
        expect429(await start(t.app, '+14155550103', '10.0.0.4'));
      });

      it('enforces the limits: cooldown, and an address over startsPerIpPerHour spends nothing of the number (and a refused number gives the address back)', async () => {
        const t = app({ rateLimits: only({ resendCooldownSeconds: 30, startsPerIpPerHour: 2 }) });
        await start(t.app, PHONE, '10.0.0.1').expect(200);
        // Refused by the number's cooldown (its slot is the last one taken): the address's start is given back.
        assert.equal(expect429(await start(t.app, PHONE, '10.0.0.1')), 30);
        await start(t.app, '+14155550102', '10.0.0.1').expect(200);
        // Now the address is full: refused before the victim's slot is touched.
        const refused = await start(t.app, '+14155550199', '10.0.0.1');
        expect429(refused);
        assert.match(refused.body.error_description, /network/);
        await start(t.app, '+14155550199', '10.0.0.2').expect(200);
        // The clock ends the cooldown.
        t.clock.advance(30_000);
        await start(t.app, PHONE, '10.0.0.3').expect(200);
      });

      it('counts failed verifies per address across slots, only while a code is pending', async () => {
        const t = app({ rateLimits: only({ failedVerifiesPerIpPerHour: 2, failedVerifiesPerPhonePerHour: 10 }), otp: { maxAttempts: 10 } });
        // No code pending: nothing counted.
        for (let i = 0; i < 3; i += 1) await verify(t.app, '123456', PHONE, '10.0.0.1').expect(403);
        await start(t.app).expect(200);
        const code = lastCode(t.outbox);
        await verify(t.app, wrongCodeFor(code), PHONE, '10.0.0.1').expect(403);
        await verify(t.app, wrongCodeFor(code), PHONE, '10.0.0.1').expect(403);
        const refused = await verify(t.app, code, PHONE, '10.0.0.1');
        expect429(refused);
        assert.match(refused.body.error_description, /wrong codes were entered from this network/);
        await verify(t.app, code, PHONE, '10.0.0.2').expect(200);
      });

      it("gives back what a start counted when the number's call fails (503): a Redis failure costs no limit", async () => {
        const t = app({ rateLimits: only({ startsPerIpPerHour: 1 }), fraudGuard: { minSends: 1, minConversion: 0.5 } });
        const undo = aroundScripts(client as ClusterClient, (_name, args, send) =>
          (args.includes(TAKE.sha) || args.includes(TAKE.source)) && JSON.stringify(args).includes(':code:')
            ? Promise.reject(new Error('CLUSTERDOWN The cluster is down'))
            : send(),
        );
        try {
          const failed = await start(t.app, PHONE, '10.0.0.1');
          assert.equal(failed.status, 503, JSON.stringify(failed.body));
        } finally {
          undo();
        }
        // The address's one start and the prefix's one send were given back: neither refuses now.
        await start(t.app, PHONE, '10.0.0.1').expect(200);
        expect429(await start(t.app, OTHER_PHONE, '10.0.0.1'));
      });

      it("answers a login whose number's script ran twice (a reply lost, the call resent) as it ran once; the code stays spent", async () => {
        const t = app({ rateLimits: only({ failedVerifiesPerIpPerHour: 3 }) });
        await start(t.app, PHONE, '10.0.0.1').expect(200);
        const code = lastCode(t.outbox);
        const undo = aroundScripts(client as ClusterClient, (_name, args, send) =>
          args.includes(VERIFY.sha) || args.includes(VERIFY.source) ? send().then(() => send()) : send(),
        );
        try {
          const login = await verify(t.app, code, PHONE, '10.0.0.1').expect(200);
          assert.equal(login.body.user.phone_number, PHONE);
        } finally {
          undo();
        }
        await verify(t.app, code, PHONE, '10.0.0.2').expect(403);
      });

      it('counts concurrent wrong guesses from one address exactly: the address is taken before the number is tried', async () => {
        const t = app({ rateLimits: only({ failedVerifiesPerIpPerHour: 3 }) });
        const numbers = Array.from({ length: 8 }, (_, i) => `+1415555${String(200 + i).padStart(4, '0')}`);
        for (const [i, n] of numbers.entries()) await start(t.app, n, `10.0.1.${i + 1}`).expect(200);
        const answers = await Promise.all(numbers.map((n) => verify(t.app, wrongCodeFor(lastCode(t.outbox, n)), n, '10.0.0.9')));
        assert.deepEqual(answers.map((a) => a.status).sort(), [403, 403, 403, 429, 429, 429, 429, 429]);
        // The codes of the refused guesses were never tried: each still opens from elsewhere.
        const refused = numbers.filter((_, i) => answers[i]?.status === 429);
        for (const n of refused) await verify(t.app, lastCode(t.outbox, n), n, '10.0.0.10').expect(200);
      });

      it('makes a wrong guess two calls, one per slot, and sends the two follow-ups of a login together', async () => {
        const t = app({ rateLimits: only({ failedVerifiesPerIpPerHour: 2 }), fraudGuard: { minSends: 100 } });
        await start(t.app).expect(200);
        const code = lastCode(t.outbox);
        const counted = countScriptCalls(client as ClusterClient);
        try {
          await verify(t.app, wrongCodeFor(code), PHONE, '10.0.0.1').expect(403);
          assert.equal(counted.seen.calls, 2, 'a wrong guess: the address, then the number');
          counted.reset();
          await verify(t.app, code, PHONE, '10.0.0.1').expect(200);
          // The address, the number, then (sent, not awaited) the address given back and the prefix's redemption at once.
          assert.equal(counted.seen.calls, 4);
          assert.equal(counted.seen.mostAtOnce, 2);
        } finally {
          counted.undo();
        }
        // The login's count was given back: one more wrong guess from this address is still answered.
        await start(t.app, OTHER_PHONE, '10.0.0.2').expect(200);
        const otherCode = lastCode(t.outbox, OTHER_PHONE);
        await verify(t.app, wrongCodeFor(otherCode), OTHER_PHONE, '10.0.0.1').expect(403);
        expect429(await verify(t.app, wrongCodeFor(otherCode), OTHER_PHONE, '10.0.0.1'));
      });

      it('answers a login and a never-sent code without waiting for their follow-ups (as fast as a wrong guess)', async () => {
        const t = app({ rateLimits: only({ failedVerifiesPerIpPerHour: 2 }) });
        await start(t.app).expect(200);
        const held: Array<() => void> = [];
        const undo = aroundScripts(client as ClusterClient, (_name, args, send) =>
          args.includes(GIVE.sha) || args.includes(SUCCEEDED.sha)
            ? new Promise((resolve, reject) => held.push(() => send().then(resolve, reject)))
            : send(),
        );
        try {
          // Both answer while the address's give-back (and the redemption) are still held back.
          await verify(t.app, '123456', OTHER_PHONE, '10.0.0.1').expect(403);
          await verify(t.app, lastCode(t.outbox), PHONE, '10.0.0.1').expect(200);
          assert.ok(held.length >= 2, `${held.length} follow-ups held`);
        } finally {
          undo();
          for (const release of held) release();
        }
        // Released, they land before anything sent after them: the address has no failure counted.
        await start(t.app, OTHER_PHONE, '10.0.0.2').expect(200);
        const other = lastCode(t.outbox, OTHER_PHONE);
        await verify(t.app, wrongCodeFor(other), OTHER_PHONE, '10.0.0.1').expect(403);
        await verify(t.app, wrongCodeFor(other), OTHER_PHONE, '10.0.0.1').expect(403);
        expect429(await verify(t.app, lastCode(t.outbox, OTHER_PHONE), OTHER_PHONE, '10.0.0.1'));
      });

      /** A login whose follow-up (the address's give-back) fails after the answer; resolves with the logged store_error. */
      async function loginWithFailingFollowUp(t: TestApp, errors: StoreErrors): Promise<Record<string, unknown>> {
        await start(t.app).expect(200);
        const undo = aroundScripts(client as ClusterClient, (_name, args, send) =>
          args.includes(GIVE.sha) || args.includes(GIVE.source) ? Promise.reject(new Error('CLUSTERDOWN The cluster is down')) : send(),
        );
        try {
          await verify(t.app, lastCode(t.outbox), PHONE, '10.0.0.1').expect(200);
          return await errors.next();
        } finally {
          undo();
        }
      }

      it('logs and counts a follow-up that fails after the answer (store_error), and the login stands', async () => {
        const errors = storeErrors();
        const registry = new Registry();
        const t = app({ rateLimits: only({ failedVerifiesPerIpPerHour: 2 }), logger: errors.logger, metrics: { registry } });
        const entry = await loginWithFailingFollowUp(t, errors);
        assert.match(String(entry.message), /^could not give back a login's address and count the login: CLUSTERDOWN/);
        assert.match(await registry.metrics(), /^passwordless_store_errors_total 1$/m);
      });

      it("lets go of a closed instance's logger: a shared store's late failure is logged by the open instance only", async () => {
        const store = redisStore({ client: client as ClusterClient, prefix: uniquePrefix() });
        const options = { store, rateLimits: only({ failedVerifiesPerIpPerHour: 2 }) };
        const closedErrors = storeErrors();
        await makeApp({ ...options, logger: closedErrors.logger }, trustLoopback).pl.close();
        const errors = storeErrors();
        await loginWithFailingFollowUp(makeApp({ ...options, logger: errors.logger }, trustLoopback), errors);
        assert.deepEqual(closedErrors.seen, []);
      });

      const failures: Array<[string, (args: unknown[], send: () => Promise<unknown>) => Promise<unknown>]> = [
        [
          "the number's node fails",
          (args, send) =>
            args.includes(VERIFY.sha) || args.includes(VERIFY.source)
              ? Promise.reject(new Error('CLUSTERDOWN The cluster is down'))
              : send(),
        ],
        [
          "the reply to the address's take is lost",
          (args, send) =>
            args.includes(TAKE.sha) && JSON.stringify(args).includes('failedVerifiesPerIpPerHour')
              ? send().then(() => Promise.reject(new Error('ECONNRESET')))
              : send(),
        ],
      ];
      for (const [what, failing] of failures) {
        it(`counts no failure of the address's when ${what} (503): a Redis failure is no wrong guess`, async () => {
          const t = app({ rateLimits: only({ failedVerifiesPerIpPerHour: 1 }) });
          await start(t.app).expect(200);
          const code = lastCode(t.outbox);
          const undo = aroundScripts(client as ClusterClient, (_name, args, send) => failing(args, send));
          try {
            const failed = await verify(t.app, wrongCodeFor(code), PHONE, '10.0.0.1');
            assert.equal(failed.status, 503, JSON.stringify(failed.body));
          } finally {
            undo();
          }
          await verify(t.app, wrongCodeFor(code), PHONE, '10.0.0.1').expect(403);
          expect429(await verify(t.app, code, PHONE, '10.0.0.1'));
        });
      }

      it('shares codes and limits between two instances on two cluster clients', async () => {
        const prefix = uniquePrefix();
        const clock = makeClock();
        const options = { rateLimits: only({ resendCooldownSeconds: 30 }), now: clock.now, logger: false as const };
        const a = makeApp({ store: redisStore({ client, prefix }), ...options }, trustLoopback);
        const b = makeApp({ store: redisStore({ client: second, prefix }), ...options }, trustLoopback);
        await start(a.app).expect(200);
        assert.equal(expect429(await start(b.app)), 30);
        await verify(b.app, lastCode(a.outbox)).expect(200);
        // Consumed in the shared store: not again on A.
        await verify(a.app, lastCode(a.outbox)).expect(403);
        clock.advance(30_000);
        await start(b.app).expect(200);
        expect429(await start(a.app));
      });

      it('judges the fraud guard only for a start the other limits let through (as on a single Redis)', async () => {
        const events: Array<Record<string, unknown>> = [];
        const logger = {
          info: (e: Record<string, unknown>) => events.push(e),
          warn: (e: Record<string, unknown>) => events.push(e),
          error: (e: Record<string, unknown>) => events.push(e),
        };
        const t = app({
          rateLimits: only({ startsPerIpPerHour: 3 }),
          fraudGuard: { minSends: 3, minConversion: 0.5, prefixDigits: 6 },
          logger,
        });
        for (const n of ['+14155550101', '+14155550102', '+14155550103']) await start(t.app, n, '10.0.0.1').expect(200);
        // Refused by its address: the prefix is not judged (nor paused) by this start.
        const refused = await start(t.app, '+14155550104', '10.0.0.1');
        expect429(refused);
        assert.match(refused.body.error_description, /network/);
        assert.deepEqual(
          events.filter((e) => e.event === 'sms_pumping_suspected'),
          [],
        );
        // The next start that passes its limits pauses the prefix, and says so.
        const paused = await start(t.app, '+14155550104', '10.0.0.2');
        assert.equal(expect429(paused), 3600);
        assert.equal(events.filter((e) => e.event === 'sms_pumping_suspected').length, 1);
      });

      it('lifts a fraud-guard pause judged on sends in flight once they fail (as on a single Redis)', async () => {
        const held = heldFailingSender();
        const t = app({ rateLimits: only({}), fraudGuard: { minSends: 3, minConversion: 0.5, prefixDigits: 6 }, sender: held.sender });
        const failing = Promise.all([0, 1, 2].map((i) => start(t.app, `+1415555${1000 + i}`, `10.0.1.${i}`).then((r) => r)));
        await held.heldAtLeast(3);
        expect429(await start(t.app, '+14155551050'));
        held.fail();
        for (const res of await failing) assert.equal(res.body.error, 'sms_provider_error');
        await start(t.app, '+14155550123').expect(200);
        assert.equal(held.outbox.messages.length, 1);
      });

      it('shares a fraud-guard pause between two instances', async () => {
        const prefix = uniquePrefix();
        const clock = makeClock();
        const options = {
          rateLimits: only({}),
          fraudGuard: { minSends: 3, minConversion: 0.5, prefixDigits: 6, windowSeconds: 60 },
          now: clock.now,
          logger: false as const,
        };
        const a = makeApp({ store: redisStore({ client, prefix }), ...options }, trustLoopback);
        const b = makeApp({ store: redisStore({ client: second, prefix }), ...options }, trustLoopback);
        for (const n of ['+14155550101', '+14155550102', '+14155550103']) await start(a.app, n).expect(200);
        const paused = await start(b.app, '+14155550104');
        assert.equal(expect429(paused), 3600);
        assert.match(paused.body.error_description, /paused/);
        // Paused for A too; another prefix is not.
        expect429(await start(a.app, '+14155550105'));
        await start(b.app, '+14165550101').expect(200);
        clock.advance(3600_000);
        await start(a.app, '+14155550105').expect(200);
      });
    });
  }
});

describe('codes and limits on a Redis Cluster while its slots move (resharding)', function () {
  let cluster: LocalCluster | undefined;
  let added = 0;
  before(async function () {
    this.timeout(60_000);
    await requireRedisServer(this);
    cluster = await startCluster();
    added = await cluster.addNode();
  });
  after(async () => {
    await cluster?.stop();
  });

  KINDS.forEach((kind, i) => {
    it(`keeps a pending code and its counts when their slots move to a node added later, which knows no script (${kind})`, async function () {
      this.timeout(30_000);
      await onCluster(kind, only({ resendCooldownSeconds: 30, failedVerifiesPerIpPerHour: 2 }), async (t, c, prefix) => {
        // A number and an address of this kind's own, so its keys' slots are not the last kind's.
        const phone = `+1415555${String(1200 + i)}`;
        const address = `10.9.0.${i + 1}`;
        await start(t.app, phone, address).expect(200);
        const code = lastCode(t.outbox, phone);
        await verify(t.app, wrongCodeFor(code), phone, address).expect(403);
        // Every slot holding this test's keys moves to the added node, whose script cache is empty.
        assert.equal(await rawCommand(added, 'SCRIPT', 'FLUSH'), '+OK\r\n');
        const slots = await c.slotsUnder(prefix);
        assert.ok(slots.length >= 2, `keys in ${slots.length} slot(s)`);
        for (const slot of slots) await c.moveSlot(slot, added);
        // The cooldown moved with its key, and the pending code with its own: it logs in.
        expect429(await start(t.app, phone, address));
        await verify(t.app, code, phone, address).expect(200);
        // The address's wrong guess from before the move still counts: one more fills it.
        const other = `+1415555${String(1300 + i)}`;
        await start(t.app, other, address).expect(200);
        await verify(t.app, wrongCodeFor(lastCode(t.outbox, other)), other, address).expect(403);
        expect429(await verify(t.app, lastCode(t.outbox, other), other, address));
      });
    });

    it(`answers 503 while a number's keys are split between two nodes, and spends or counts nothing there (${kind})`, async function () {
      this.timeout(30_000);
      await onCluster(kind, only({ resendCooldownSeconds: 30, failedVerifiesPerPhonePerHour: 5 }), async (t, c, prefix) => {
        const phone = `+1415555${String(1400 + i)}`;
        const address = `10.9.1.${i + 1}`;
        await start(t.app, phone, address).expect(200);
        const code = lastCode(t.outbox, phone);
        const sent = t.outbox.messages.length;
        // The number's slot holds its cooldown and its code: the code moves first, the cooldown
        // stays behind, and Redis answers every script that needs both TRYAGAIN.
        const codeSlot = Number(await rawSlotOf(c, prefix, ':code:'));
        const during: number[] = [];
        await c.moveSlot(codeSlot, added, {
          keys: (inSlot) => inSlot.filter((k) => k.includes(':code:')),
          run: async () => {
            for (const res of [await start(t.app, phone, address), await verify(t.app, code, phone, address)]) {
              during.push(res.status);
              if (res.status === 503) assert.equal(res.headers['retry-after'], '2');
            }
          },
        });
        assert.deepEqual(during, [503, 503]);
        assert.equal(t.outbox.messages.length, sent);
        // Once the slot has moved: the cooldown is still running, and the code still logs in.
        expect429(await start(t.app, phone, address));
        await verify(t.app, code, phone, address).expect(200);
      });
    });
  });

  /** An app on a prefix of its own, its store on a cluster client of `kind` (closed afterwards). */
  async function onCluster(
    kind: Kind,
    rateLimits: RateLimitOptions,
    test: (t: TestApp, c: LocalCluster, prefix: string) => Promise<void>,
  ): Promise<void> {
    const c = cluster as LocalCluster;
    const client = await clusterClient(kind, c, 0);
    try {
      const prefix = uniquePrefix();
      await test(makeApp({ store: redisStore({ client, prefix }), rateLimits, logger: false }, trustLoopback), c, prefix);
    } finally {
      closeClient(client);
    }
  }
});

/** The hash slot of the first key under `prefix` whose name contains `part`, asked of every master. */
async function rawSlotOf(c: LocalCluster, prefix: string, part: string): Promise<number> {
  for (const port of c.ports) {
    const keys = String(await rawCommand(port, 'KEYS', `${prefix}*`));
    const key = keys.split('\r\n').find((k) => k.startsWith(prefix) && k.includes(part));
    if (key)
      return Number(
        String(await rawCommand(port, 'CLUSTER', 'KEYSLOT', key))
          .replace(/^:/, '')
          .trim(),
      );
  }
  throw new Error(`no key with ${part} under ${prefix}`);
}
