/**
 * One way to run a script on any Redis client this package accepts: node-redis
 * (`createClient`, `createCluster`) and ioredis (`new Redis`, `new Cluster`). Scripts are
 * called by SHA, after every script was loaded on every master (`load`). A node that does not
 * know a script all the same (NOSCRIPT: a restart, a failover, a node new to the cluster) is
 * sent the source with EVAL, which runs it and caches it on that node, and the listener is told
 * so that the rest are loaded again. A client that is not connected fails at once instead of queueing
 * the command for later, so a request that was answered 503 cannot run when Redis returns.
 */
import { createHash } from 'node:crypto';
import { optionError } from '../config/validate';

export interface Script {
  readonly source: string;
  readonly sha: string;
}

export function script(source: string): Script {
  return Object.freeze({ source, sha: createHash('sha1').update(source).digest('hex') });
}

export interface RedisRunner {
  readonly library: 'node-redis' | 'ioredis';
  readonly cluster: boolean;
  /** False while the client is not connected and ready. */
  ready(): boolean;
  run(s: Script, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  /** Loads `scripts` into the script cache of every master (the one server of a single Redis). */
  load(scripts: readonly Script[]): Promise<void>;
  /** Every master's clock (TIME), in milliseconds since the epoch. */
  clocks(): Promise<number[]>;
}

/** TIME's answer (seconds, microseconds) in milliseconds. */
function timeMs(reply: unknown): number {
  const [seconds, micros] = reply as [string | number, string | number];
  return Number(seconds) * 1000 + Number(micros) / 1000;
}

/** Told when a node answered NOSCRIPT: its script cache was emptied (a restart, a failover) or it is new. */
export type NoScriptListener = () => void;

type Fn = (...args: unknown[]) => Promise<unknown>;

function isNoScript(err: unknown): boolean {
  return err instanceof Error && /NOSCRIPT/.test(err.message);
}

/** Sends every script to every node at once, through each library's own SCRIPT LOAD call. */
async function loadOnEvery(
  nodes: readonly unknown[],
  scripts: readonly Script[],
  send: (node: unknown, source: string) => Promise<unknown>,
): Promise<void> {
  await Promise.all(nodes.flatMap((node) => scripts.map((s) => send(node, s.source))));
}

/** A runner for `client`, or a construction error naming `option` and what it accepts. */
export function redisRunner(client: unknown, option: string, onNoScript: NoScriptListener = () => {}): RedisRunner {
  const c = client as Record<string, unknown> | null | undefined;
  const bySha = async (evalSha: () => Promise<unknown>, evalSource: () => Promise<unknown>): Promise<unknown> => {
    try {
      return await evalSha();
    } catch (err) {
      if (!isNoScript(err)) throw err;
      onNoScript();
      return evalSource();
    }
  };
  const method = (node: unknown, name: string, ...args: unknown[]) => ((node as Record<string, Fn>)[name] as Fn).apply(node, args);
  const call = (name: string, ...args: unknown[]) => method(c, name, ...args);
  if (c && typeof c.evalSha === 'function') {
    // A node-redis 4 client in legacyMode answers through callbacks: every script call would fail.
    if ((c.options as { legacyMode?: unknown } | undefined)?.legacyMode === true)
      throw optionError(
        option,
        'is a node-redis client created with legacyMode: true, whose commands take callbacks. Pass a client created without legacyMode (connect-redis 7 and later take the same client).',
      );
    // node-redis: a cluster (createCluster) lists its masters (node-redis 6's has isReady as
    // well, so that cannot tell it from a client); a client pool has neither.
    const cluster = Array.isArray(c.masters);
    if (!cluster && !('isReady' in c))
      throw optionError(
        option,
        'is a node-redis client pool (createClientPool), which cannot run the scripts: pass a client (createClient) or a cluster (createCluster).',
      );
    const run: RedisRunner['run'] = cluster
      ? // A cluster is told the node's key itself: node-redis 4's cluster evalSha looks for
        // the keys in the wrong argument and sends the script to a random node, which
        // answers MOVED until the client gives up.
        (s, keys, args) =>
          bySha(
            () => call('sendCommand', keys[0], false, ['EVALSHA', s.sha, String(keys.length), ...keys, ...args]),
            () => call('sendCommand', keys[0], false, ['EVAL', s.source, String(keys.length), ...keys, ...args]),
          )
      : (s, keys, args) =>
          bySha(
            () => call('evalSha', s.sha, { keys: [...keys], arguments: [...args] }),
            () => call('eval', s.source, { keys: [...keys], arguments: [...args] }),
          );
    const masters = async () => (cluster ? await Promise.all((c.masters as unknown[]).map((m) => call('nodeClient', m))) : [c]);
    return {
      library: 'node-redis',
      cluster,
      ready: () => (cluster ? c.isOpen === true : c.isReady === true),
      run,
      load: async (scripts) => {
        await loadOnEvery(await masters(), scripts, (node, source) => method(node, 'sendCommand', ['SCRIPT', 'LOAD', source]));
      },
      clocks: async () => Promise.all((await masters()).map(async (node) => timeMs(await method(node, 'sendCommand', ['TIME'])))),
    };
  }
  if (c && typeof c.evalsha === 'function') {
    const masters = () => (c.isCluster === true ? (call('nodes', 'master') as unknown as unknown[]) : [c]);
    return {
      library: 'ioredis',
      cluster: c.isCluster === true,
      ready: () => {
        // lazyConnect: ioredis connects on its first command, which a client that is not ready
        // never gets here (requests fail fast instead). Its first request starts the connection.
        if (c.status === 'wait') void (call('connect') as Promise<unknown>).catch(() => undefined);
        return c.status === 'ready';
      },
      run: (s, keys, args) =>
        bySha(
          () => call('evalsha', s.sha, keys.length, ...keys, ...args),
          () => call('eval', s.source, keys.length, ...keys, ...args),
        ),
      load: async (scripts) => {
        await loadOnEvery(masters(), scripts, (node, source) => method(node, 'script', 'LOAD', source));
      },
      clocks: () => Promise.all(masters().map(async (node) => timeMs(await method(node, 'time')))),
    };
  }
  throw optionError(
    option,
    'must be a connected client of the `redis` package (createClient() or createCluster()) or of `ioredis` (new Redis() or new Cluster()).',
  );
}

/**
 * Whether `client`, for which `runner` was made, is a node-redis client or cluster with no
 * `error` listener: node-redis emits `error` when its connection drops (a node-redis 4 cluster
 * too, when one of its nodes goes), and an `error` event nobody listens to ends the process,
 * so the first Redis restart would take the app down instead of answering 503. ioredis logs
 * instead.
 */
export function lacksErrorListener(runner: RedisRunner, client: unknown): boolean {
  if (runner.library !== 'node-redis') return false;
  const listeners = (client as { listenerCount?: unknown }).listenerCount;
  return typeof listeners === 'function' && (listeners as (event: string) => number).call(client, 'error') === 0;
}
