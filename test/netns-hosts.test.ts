// The simulated hosts of test/support/netns-hosts.ts, checked with real processes: each
// reaches Redis and Postgres only through its forwarders, sees nothing of the others, can be
// cut off and restored, and leaves nothing behind.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsHosts, type NetnsHost } from './support/netns-hosts';

const unsupported = NetnsHosts.unsupportedReason();
if (unsupported) console.warn(`netns-hosts: skipped: ${unsupported}`);

/**
 * Connects to argv[1]:argv[2], optionally sends argv[3] (base64), and prints one line: the
 * first bytes received as `data:…`, `connected`, `error:<code>`, or `timeout` after argv[4] ms.
 */
const PROBE = `
const [host, port, send, ms] = process.argv.slice(1);
const done = (line) => { console.log(line); process.exit(0); };
setTimeout(() => done('timeout'), Number(ms));
const socket = require('node:net').connect({ host, port: Number(port) });
socket.on('connect', () => (send ? socket.write(Buffer.from(send, 'base64')) : done('connected')));
socket.on('data', (data) => done('data:' + data.toString('latin1').trim()));
socket.on('error', (error) => done('error:' + error.code));
`;
const PING = Buffer.from('PING\r\n').toString('base64');
/** Postgres's SSLRequest: any Postgres answers it with one byte, S or N. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 4, 210, 22, 47]).toString('base64');

/** Output of a program run to completion inside `host`. */
function runIn(host: NetnsHost, script: string, args: string[] = []): Promise<string> {
  const child = host.spawn(process.execPath, ['-e', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.once('close', () => resolve(output.trim())));
}

const probe = (host: NetnsHost, address: string, port: number | string, send = '', ms = 2_000): Promise<string> =>
  runIn(host, PROBE, [address, String(port), send, String(ms)]);

const portOf = (hostPort: string): string => hostPort.split(':')[1] ?? '';
const redisPortOf = (host: NetnsHost): string => new URL(host.redisUrl).port;

/** Resolves with the first line of the child's stdout matching `pattern`. */
function lineMatching(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString();
      const line = buffered.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) {
        child.stdout?.off('data', onData);
        resolve(line);
      }
    };
    child.stdout?.on('data', onData);
  });
}

/** A live process, not a zombie left for an init that does not reap. */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const ours = (runId: string): { namespaces: string[]; veths: string[] } => {
  const namespaces = (JSON.parse(execFileSync('ip', ['-j', 'netns', 'list'], { encoding: 'utf8' }) || '[]') as Array<{ name: string }>)
    .map((n) => n.name)
    .filter((name) => name.startsWith(runId));
  const veths = (JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'type', 'veth'], { encoding: 'utf8' }) || '[]') as Array<{ ifname: string; ifalias?: string }>)
    .filter((link) => link.ifalias?.startsWith(runId))
    .map((link) => link.ifname);
  return { namespaces, veths };
};

describe.skipIf(unsupported !== undefined)('simulated hosts in network namespaces', () => {
  let hosts: NetnsHosts;
  let a: NetnsHost;
  let b: NetnsHost;

  beforeAll(async () => {
    await NetnsHosts.cleanupStale();
    hosts = await NetnsHosts.create(2);
    [a, b] = hosts.hosts as [NetnsHost, NetnsHost];
  });

  afterAll(async () => {
    await hosts?.dispose();
  });

  it('runs a spawned program itself inside the namespace, so killing the child kills it', async () => {
    const child = a.spawn(process.execPath, ['-e', 'console.log("up"); setInterval(() => {}, 1000)'], { stdio: ['ignore', 'pipe', 'ignore'] });
    await lineMatching(child, /^up$/);
    const pid = child.pid ?? 0;
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).toBe(process.execPath);
    expect(readlinkSync(`/proc/${pid}/ns/net`)).not.toBe(readlinkSync('/proc/self/ns/net'));
    expect(execFileSync('ip', ['netns', 'identify', String(pid)], { encoding: 'utf8' }).trim()).toBe(a.name);

    const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(isRunning(pid)).toBe(false);
  });

  it('reaches Redis and Postgres through its own forwarders', async () => {
    const results = await Promise.all(
      [a, b].flatMap((host) => [
        probe(host, host.address, redisPortOf(host), PING),
        probe(host, host.address, portOf(host.postgresHostPort), SSL_REQUEST),
      ]),
    );
    expect(results).toEqual(['data:+PONG', expect.stringMatching(/^data:[NS]$/), 'data:+PONG', expect.stringMatching(/^data:[NS]$/)]);
    expect(a.address).not.toBe(b.address);
    expect(a.databaseUrl('postgresql://postgres:postgres@127.0.0.1:5432/mpiaas?schema=x')).toBe(
      `postgresql://postgres:postgres@${a.postgresHostPort}/mpiaas?schema=x`,
    );
  });

  it('has a loopback of its own and no way to the other hosts', async () => {
    const server = a.spawn(process.execPath, ['-e', 'require("node:net").createServer().listen(7001, "127.0.0.1", () => console.log("listening"))'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    await lineMatching(server, /^listening$/);
    const [ownLoopback, ownRedis, otherLoopback, otherInner, otherForwarder] = await Promise.all([
      probe(a, '127.0.0.1', 7001),
      probe(a, '127.0.0.1', 6379),
      probe(b, '127.0.0.1', 7001),
      probe(b, a.innerAddress, 7001),
      probe(b, a.address, redisPortOf(a), PING),
    ]);
    server.kill('SIGKILL');
    expect(ownLoopback).toBe('connected');
    expect(ownRedis).toBe('error:ECONNREFUSED');
    expect(otherLoopback).toBe('error:ECONNREFUSED');
    expect(otherInner).toBe('error:ENETUNREACH');
    expect(otherForwarder).toBe('error:ENETUNREACH');
  });

  it('cut() stalls its connections, new and established, until restore()', async () => {
    // One Redis connection, pinged every 100 ms; each PONG is a line.
    const pinger = a.spawn(
      process.execPath,
      [
        '-e',
        `const s = require('node:net').connect(${redisPortOf(a)}, '${a.address}');
         s.on('data', (d) => console.log(String(d).trim()));
         setInterval(() => s.write('PING\\r\\n'), 100);`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let pongs = 0;
    pinger.stdout?.on('data', (chunk: Buffer) => (pongs += chunk.toString().split('+PONG').length - 1));
    await lineMatching(pinger, /PONG/);

    await a.cut();
    await delay(200); // PONGs already on their way
    const before = pongs;
    const [duringCut, otherHost] = await Promise.all([probe(a, a.address, redisPortOf(a), PING, 1_500), probe(b, b.address, redisPortOf(b), PING)]);
    expect(duringCut).toBe('timeout');
    expect(otherHost).toBe('data:+PONG');
    expect(pongs).toBe(before);

    await a.restore();
    expect(await probe(a, a.address, redisPortOf(a), PING)).toBe('data:+PONG');
    await Promise.race([lineMatching(pinger, /PONG/), delay(5_000)]);
    expect(pongs, 'the established connection resumes').toBeGreaterThan(before);
    pinger.kill('SIGKILL');
  });

  it('dispose() kills what runs inside and removes namespaces and veths', async () => {
    const extra = await NetnsHosts.create(1);
    const [host] = extra.hosts as [NetnsHost];
    // A child that starts a grandchild of its own: both must die.
    const shell = host.spawn('sh', ['-c', 'sleep 30 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const grandchild = Number(await lineMatching(shell, /^\d+$/));
    expect(ours(extra.runId).namespaces).toEqual([host.name]);
    expect(ours(extra.runId).veths).toEqual([host.veth]);

    await extra.dispose();
    expect(isRunning(shell.pid ?? 0)).toBe(false);
    expect(isRunning(grandchild)).toBe(false);
    expect(ours(extra.runId)).toEqual({ namespaces: [], veths: [] });
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(extra.runId);
    expect(ours(hosts.runId).namespaces).toHaveLength(2); // another run's hosts are untouched
  });

  it('cleanupStale() removes what a dead run left, and nothing of a live one', async () => {
    const deadPid = spawnSync('true').pid;
    const name = `mpiaas-${deadPid}-0dead0-h0`;
    const veth = `mpiaasv9${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}`;
    execFileSync('ip', ['netns', 'add', name]);
    execFileSync('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name]);
    execFileSync('ip', ['link', 'set', veth, 'alias', name]);
    const leftover = spawn('ip', ['netns', 'exec', name, 'sleep', '30'], { stdio: 'ignore' });
    const killedBy = new Promise((resolve) => leftover.once('exit', (_code, signal) => resolve(signal)));
    // The namespace of a run in another live process (here a sleep stands in for it).
    const otherRun = spawn('sleep', ['30'], { stdio: 'ignore' });
    const otherName = `mpiaas-${otherRun.pid}-0a11e0-h0`;
    execFileSync('ip', ['netns', 'add', otherName]);
    await delay(100);

    try {
      expect(await NetnsHosts.cleanupStale()).toEqual([name]);
      expect(await killedBy).toBe('SIGKILL');
      expect(ours(name)).toEqual({ namespaces: [], veths: [] });
      expect(ours(otherName).namespaces).toEqual([otherName]);
      expect(ours(hosts.runId).namespaces).toHaveLength(2);
      expect(await probe(a, a.address, redisPortOf(a), PING)).toBe('data:+PONG');
    } finally {
      execFileSync('ip', ['netns', 'del', otherName]);
      otherRun.kill('SIGKILL');
    }
  });
});
