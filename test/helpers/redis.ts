/**
 * Real Redis for the tests: the machine's server on 127.0.0.1:6379, and throwaway servers
 * on their own ports for outage tests. In CI a missing Redis fails the run; locally the
 * tests that need it skip with a message saying how to run them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { createClient as createClient4 } from 'redis4';
import { createClient as createClient6 } from 'redis6';
import Redis from 'ioredis';
import Redis6 from 'ioredis6';

export const REDIS_URL = 'redis://127.0.0.1:6379';

export function ping(port = 6379): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/** Call in a `before` hook: fails in CI without Redis, skips elsewhere. */
export async function requireRedis(context: Mocha.Context): Promise<void> {
  if (await ping()) return;
  if (process.env.CI)
    throw new Error(
      'These tests need Redis on 127.0.0.1:6379; .ci/run starts it with redis-server --daemonize yes --save "" --appendonly no',
    );
  console.warn('    (skipped: start Redis on 127.0.0.1:6379 to run these tests: redis-server --daemonize yes --save "" --appendonly no)');
  context.skip();
}

/** A key prefix of its own per test file, so runs never see each other's keys. */
export function uniquePrefix(): string {
  return `pwl-test:${randomBytes(4).toString('hex')}:`;
}

export type NodeRedisClient = ReturnType<typeof createClient>;

export async function nodeRedis(port = 6379): Promise<NodeRedisClient> {
  const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: () => 100, connectTimeout: 1000 } });
  client.on('error', () => {}); // outages are part of the tests; answers come from the store
  await client.connect();
  return client;
}

/**
 * A node-redis 4 client (or cluster) with node-redis 5's `destroy`: the methods the package and
 * the tests call are the same in both majors, but for `destroy`, which 4 calls `disconnect`.
 */
export function withDestroy<T extends { disconnect(): Promise<void> }>(client: T): T & { destroy(): void } {
  return Object.assign(client, { destroy: () => void client.disconnect().catch(() => undefined) });
}

/** A client of node-redis 4, the older major the peer range accepts, typed as the tests' node-redis client. */
export async function nodeRedis4(port = 6379): Promise<NodeRedisClient> {
  const client = createClient4({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: () => 100, connectTimeout: 1000 } });
  client.on('error', () => {});
  await client.connect();
  return withDestroy(client) as unknown as NodeRedisClient;
}

/** A client of node-redis 6, the newest major the peer range accepts, typed as the tests' node-redis client. */
export async function nodeRedis6(port = 6379): Promise<NodeRedisClient> {
  const client = createClient6({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: () => 100, connectTimeout: 1000 } });
  client.on('error', () => {});
  await client.connect();
  return client as unknown as NodeRedisClient;
}

/** A client of ioredis 6, typed as the tests' ioredis client (the methods they call are the same). */
export async function ioredis6(port = 6379): Promise<Redis> {
  const client = new Redis6({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => 100, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  await client.connect();
  return client as unknown as Redis;
}

/** Whether a test client is ioredis (5 or 6): it has `status`, node-redis has `isReady`. */
export function isIoredis(client: object): client is Redis {
  return 'status' in client && !('isReady' in client);
}

/**
 * A Redis client on a key prefix of its own, for a test that opens it and a hook that tears it
 * down: `open` connects (with `connect`) and draws the prefix; `done` deletes the prefix's keys
 * and closes the client (nothing when it was not opened, or is already done).
 */
export function redisOnPrefix(connect: () => Promise<NodeRedisClient | Redis>): {
  open(): Promise<{ client: NodeRedisClient | Redis; prefix: string }>;
  done(): Promise<void>;
} {
  let client: NodeRedisClient | Redis | undefined;
  let prefix = '';
  return {
    async open() {
      client = await connect();
      prefix = uniquePrefix();
      return { client, prefix };
    },
    async done() {
      if (!client) return;
      const opened = client;
      client = undefined;
      await deleteKeys(opened, prefix);
      if (isIoredis(opened)) opened.disconnect();
      else opened.destroy();
    },
  };
}

export async function ioredis(port = 6379): Promise<Redis> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => 100, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** A redis-server of the test's own, on its own port, that the test may stop and restart. */
/** Waits up to 5 s for a freshly started redis-server on `port` to answer PING. */
async function answering(port: number): Promise<void> {
  for (let i = 0; i < 50; i += 1) {
    if (await ping(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`redis-server on port ${port} did not start`);
}

export interface OwnRedis {
  port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function ownRedis(port: number): OwnRedis {
  let child: ChildProcess | undefined;
  return {
    port,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: 'ignore',
      });
      await answering(port);
    },
    async stop() {
      if (!child) return;
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      child = undefined;
    },
  };
}

/** Deletes every key under `prefix` (tests leave nothing behind in the developer's Redis). */
export async function deleteKeys(client: NodeRedisClient | Redis, prefix: string): Promise<void> {
  const pattern = `${prefix}*`;
  if ('scanIterator' in client) {
    for await (const batch of client.scanIterator({ MATCH: pattern, COUNT: 1000 })) {
      const keys = Array.isArray(batch) ? batch : [batch];
      if (keys.length > 0) await client.del(keys);
    }
    return;
  }
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

// Helpers for tests that start redis-servers of their own (test/limits).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

/** True when `port` (and, for a cluster node, its bus port `port + 10000`) can be listened on now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port no one listens on (nor on `port + 10000` when `withBus`), picked at random in 20000-29999. */
export async function freePort(withBus = false): Promise<number> {
  for (let i = 0; i < 200; i += 1) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if ((await portFree(port)) && (!withBus || (await portFree(port + 10_000)))) return port;
  }
  throw new Error('no free port found in 20000-29999');
}

/** True when `redis-server` can be started (it is on PATH). */
export function hasRedisServer(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('redis-server', ['--version'], { stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}

/** Call in a `before` hook of tests that start their own servers: fails in CI without redis-server, skips elsewhere. */
export async function requireRedisServer(context: Mocha.Context): Promise<void> {
  if (await hasRedisServer()) return;
  if (process.env.CI) throw new Error('These tests start their own redis-server: install Redis (redis-server and redis-cli on PATH).');
  console.warn('    (skipped: install Redis so that redis-server and redis-cli are on PATH to run these tests)');
  context.skip();
}

/** Sends one command on a fresh connection and resolves with the raw reply (for servers the test controls). */
export function rawCommand(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error(`no answer from 127.0.0.1:${port} to ${args.join(' ')}`));
    });
    socket.on('error', reject);
    socket.on('connect', () => socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    socket.on('data', (d) => {
      reply += d.toString();
      socket.end();
    });
    socket.on('close', () => resolve(reply));
  });
}

/** A private redis-server with extra arguments and a data directory of its own, which keeps its data over `shutdown()` and `start()`. */
export interface PrivateRedis extends OwnRedis {
  /** SHUTDOWN SAVE: the server goes away, its keys come back on the next `start()`. */
  shutdown(): Promise<void>;
  /** Stops the server (if running) and removes its data directory. */
  destroy(): Promise<void>;
}

/** Kills `child` if this process exits first (mocha --exit after a timed-out test), so no server outlives the run. */
export function killOnExit(child: ChildProcess): void {
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  child.once('exit', () => process.removeListener('exit', kill));
}

export function privateRedis(port: number, extraArgs: readonly string[] = []): PrivateRedis {
  const dir = mkdtempSync(`${tmpdir()}/pwl-redis-${port}-`);
  let child: ChildProcess | undefined;
  const exited = (c: ChildProcess) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(undefined) : c.once('exit', r)));
  const server: PrivateRedis = {
    port,
    async start() {
      child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs],
        { stdio: 'ignore' },
      );
      killOnExit(child);
      await answering(port);
    },
    async shutdown() {
      if (!child) return;
      const c = child;
      child = undefined;
      await rawCommand(port, 'SHUTDOWN', 'SAVE').catch(() => '');
      await exited(c);
    },
    async stop() {
      if (!child) return;
      const c = child;
      child = undefined;
      c.kill('SIGKILL');
      await exited(c);
    },
    async destroy() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

export type ScriptCall = (name: string, args: unknown[], send: () => Promise<unknown>) => Promise<unknown>;

/**
 * Puts `around` between the package and the script methods `names` of a Redis client (node-redis
 * or ioredis, single or cluster); returns the undo. A node-redis cluster is sent its scripts
 * through `sendCommand(key, readonly, command)`: `around` sees the command's words as `args`,
 * as it sees the other methods' arguments, and only for EVALSHA and EVAL.
 */
export function aroundScripts(client: object, around: ScriptCall, names = ['evalSha', 'evalsha', 'eval', 'sendCommand']): () => void {
  const target = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const saved = names
    .filter((name) => typeof target[name] === 'function')
    .map((name) => ({
      name,
      original: target[name] as (...args: unknown[]) => Promise<unknown>,
      own: Object.getOwnPropertyDescriptor(target, name),
    }));
  for (const { name, original } of saved) {
    target[name] = function around_(this: unknown, ...args: unknown[]) {
      const send = () => original.apply(this, args);
      if (name !== 'sendCommand') return around(name, args, send);
      const command = Array.isArray(args[2]) ? (args[2] as unknown[]) : [];
      return command[0] === 'EVALSHA' || command[0] === 'EVAL' ? around(name, command, send) : send();
    };
  }
  return () => {
    for (const { name, own } of saved) {
      if (own) Object.defineProperty(target, name, own);
      else delete target[name];
    }
  };
}
