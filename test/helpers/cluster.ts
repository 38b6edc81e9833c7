/**
 * A real local Redis Cluster for the tests: three masters (no replicas) on free ports, with
 * their cluster config files in a temporary directory, joined with `redis-cli --cluster
 * create`. `stop()` kills the three servers and removes the directory.
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
  stop(): Promise<void>;
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
  try {
    for (let i = 0; i < size; i += 1) {
      let port = await freePort(true);
      while (ports.includes(port)) port = await freePort(true);
      ports.push(port);
      children.push(
        spawn(
          'redis-server',
          [
            '--port',
            String(port),
            '--bind',
            '127.0.0.1',
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${port}.conf`,
            '--dir',
            dir,
            '--save',
            '',
            '--appendonly',
            'no',
          ],
          { stdio: 'ignore' },
        ),
      );
      killOnExit(children[children.length - 1] as ChildProcess);
    }
    await Promise.all(ports.map((p) => waitFor(`redis-server on ${p}`, () => ping(p))));
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 30_000,
    });
    await Promise.all(
      ports.map((p) =>
        waitFor(`cluster_state:ok on ${p}`, async () => {
          const { stdout } = await run('redis-cli', ['-p', String(p), 'cluster', 'info']);
          return /cluster_state:ok/.test(stdout);
        }),
      ),
    );
    return { ports, nodes: ports.map((port) => ({ host: '127.0.0.1', port })), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
