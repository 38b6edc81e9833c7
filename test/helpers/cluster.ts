/**
 * A real local Redis Cluster for the tests: three masters (no replicas) on free ports, with
 * their cluster config files in a temporary directory, joined with `redis-cli --cluster
 * create`. `addNode()` joins one more (empty) master, `moveSlot()` migrates a slot and its keys
 * as a resharding does, and `stop()` kills every server and removes the directory.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, killOnExit, ping } from './redis';

const run = promisify(execFile);

export interface LocalCluster {
  readonly ports: readonly number[];
  readonly nodes: ReadonlyArray<{ host: string; port: number }>;
  /** Starts one more master, joins it to the cluster (owning no slot yet) and answers its port. */
  addNode(): Promise<number>;
  /**
   * Moves `slot` and its keys to the master on `toPort` (IMPORTING, MIGRATING, MIGRATE, SETSLOT
   * NODE). With `midway`, the keys it picks move first and `run` is awaited while the slot is
   * split between the two nodes, as a resharding under traffic leaves it.
   */
  moveSlot(slot: number, toPort: number, midway?: Midway): Promise<void>;
  /** The hash slots of the keys under `prefix`, over every master. */
  slotsUnder(prefix: string): Promise<number[]>;
  stop(): Promise<void>;
}

export interface Midway {
  /** The keys of the slot (as GETKEYSINSLOT lists them) to move before `run`. */
  keys(inSlot: string[]): string[];
  run(): Promise<void>;
}

/** One redis-cli call against 127.0.0.1:`port`: its output, trimmed; an error reply throws. */
async function cli(port: number, ...args: Array<string | number>): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), ...args.map(String)], { timeout: 10_000 });
  const out = stdout.trim();
  if (/^(ERR|IOERR|NOKEY|MOVED|ASK|CLUSTERDOWN|TRYAGAIN)\b/.test(out)) throw new Error(`redis-cli -p ${port} ${args.join(' ')}: ${out}`);
  return out;
}

/** The port of the master that serves `slot`, from CLUSTER NODES. */
async function ownerOf(port: number, slot: number): Promise<number> {
  for (const line of (await cli(port, 'CLUSTER', 'NODES')).split('\n')) {
    const [, address = '', flags = '', , , , , , ...ranges] = line.split(' ');
    if (!flags.includes('master')) continue;
    for (const range of ranges) {
      const [from, to = from] = range.split('-').map(Number);
      if (from !== undefined && to !== undefined && slot >= from && slot <= to) return Number(address.split(/[:@]/)[1]);
    }
  }
  throw new Error(`no master serves slot ${slot}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => Promise<boolean>, tries = 100, everyMs = 100): Promise<void> {
  for (let i = 0; i < tries; i += 1) {
    if (await check()) return;
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function startCluster(size = 3): Promise<LocalCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pwl-cluster-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  const stop = async () => {
    await Promise.all(
      children.map((c) => {
        if (c.exitCode !== null || c.signalCode !== null) return undefined;
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGKILL');
        return exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  /** Starts one cluster-enabled redis-server on a free port (with its bus port free too). */
  const spawnNode = async (): Promise<number> => {
    let port = await freePort(true);
    while (ports.includes(port)) port = await freePort(true);
    ports.push(port);
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes'];
    args.push('--cluster-config-file', `nodes-${port}.conf`, '--dir', dir, '--save', '', '--appendonly', 'no');
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    children.push(child);
    killOnExit(child);
    return port;
  };
  const clusterOk = (p: number, nodes: number) =>
    waitFor(`cluster_state:ok with ${nodes} nodes on ${p}`, async () => {
      const info = await cli(p, 'CLUSTER', 'INFO');
      return /cluster_state:ok/.test(info) && new RegExp(`cluster_known_nodes:${nodes}\\b`).test(info);
    });
  const addNode = async (): Promise<number> => {
    const port = await spawnNode();
    await waitFor(`redis-server on ${port}`, () => ping(port));
    await run('redis-cli', ['--cluster', 'add-node', `127.0.0.1:${port}`, `127.0.0.1:${ports[0]}`], { timeout: 30_000 });
    await Promise.all(ports.map((p) => clusterOk(p, ports.length)));
    return port;
  };
  const moveSlot = async (slot: number, toPort: number, midway?: Midway): Promise<void> => {
    const fromPort = await ownerOf(toPort, slot);
    if (fromPort === toPort) return;
    const [fromId, toId] = await Promise.all([cli(fromPort, 'CLUSTER', 'MYID'), cli(toPort, 'CLUSTER', 'MYID')]);
    await cli(toPort, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', fromId);
    await cli(fromPort, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId);
    const keysLeft = async () => (await cli(fromPort, 'CLUSTER', 'GETKEYSINSLOT', slot, 100)).split('\n').filter(Boolean);
    if (midway) {
      const first = midway.keys(await keysLeft());
      if (first.length > 0) await cli(fromPort, 'MIGRATE', '127.0.0.1', toPort, '', 0, 5000, 'KEYS', ...first);
      await midway.run();
    }
    for (;;) {
      const keys = await keysLeft();
      if (keys.length === 0) break;
      await cli(fromPort, 'MIGRATE', '127.0.0.1', toPort, '', 0, 5000, 'KEYS', ...keys);
    }
    // The target first, then the source (as Redis's own resharding does), then the others.
    for (const p of [toPort, fromPort, ...ports.filter((q) => q !== toPort && q !== fromPort)])
      await cli(p, 'CLUSTER', 'SETSLOT', slot, 'NODE', toId);
    await Promise.all(ports.map((p) => waitFor(`slot ${slot} on ${toPort} seen by ${p}`, async () => (await ownerOf(p, slot)) === toPort)));
  };
  const slotsUnder = async (prefix: string): Promise<number[]> => {
    const keys = (await Promise.all(ports.map((p) => cli(p, 'KEYS', `${prefix}*`)))).flatMap((out) => out.split('\n').filter(Boolean));
    const slots = await Promise.all(keys.map(async (k) => Number(await cli(ports[0] as number, 'CLUSTER', 'KEYSLOT', k))));
    return [...new Set(slots)];
  };
  try {
    for (let i = 0; i < size; i += 1) await spawnNode();
    await Promise.all(ports.map((p) => waitFor(`redis-server on ${p}`, () => ping(p))));
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 30_000,
    });
    await Promise.all(ports.map((p) => clusterOk(p, size)));
    return { ports, nodes: ports.map((port) => ({ host: '127.0.0.1', port })), addNode, moveSlot, slotsUnder, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
