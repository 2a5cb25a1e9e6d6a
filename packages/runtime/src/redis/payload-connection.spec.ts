// The payload connection against real Redis servers: the shared one, and private ones (a
// password, an ACL user, TLS) started here and stopped at the end.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PayloadConnection } from './payload-connection';
import { redisTarget } from './redis-target';

const REDIS_URL = process.env.MPIAAS_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `test:payloads:${process.pid}:`;
const redis = new Redis(REDIS_URL);
const servers: ChildProcess[] = [];
const dir = mkdtempSync(path.join(os.tmpdir(), 'mpiaas-payloads-'));

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A private redis-server with `args`, listening (plain or TLS) on the port returned. */
async function privateRedis(args: (port: number) => string[]): Promise<number> {
  const port = await freePort();
  const server = spawn('redis-server', ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args(port)], { stdio: 'ignore' });
  servers.push(server);
  await vi.waitFor(
    () =>
      new Promise<void>((resolve, reject) => {
        const probe = net.connect(port, '127.0.0.1', () => (probe.destroy(), resolve()));
        probe.on('error', reject);
      }),
    { timeout: 10_000, interval: 50 },
  );
  return port;
}

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.unlink(...keys);
  redis.disconnect();
  servers.forEach((server) => server.kill());
  rmSync(dir, { recursive: true, force: true });
});

describe('PayloadConnection', () => {
  let connection: PayloadConnection;
  beforeAll(async () => {
    connection = await PayloadConnection.open(REDIS_URL, 'mpiaas-test-payloads');
  });
  afterAll(() => connection.close());

  it('stores and fetches a large value; a fetched value is views of the reads it arrived in', async () => {
    const value = Buffer.from(Array.from({ length: 1536 * 1024 }, (_, i) => (i * 7) % 256));
    await connection.set(`${prefix}large`, [value.subarray(0, 1000), value.subarray(1000, 70_000), value.subarray(70_000)], 60_000); // sent from its pieces
    expect(await redis.pttl(`${prefix}large`)).toBeGreaterThan(50_000);
    const pieces = await connection.get(`${prefix}large`);
    expect(pieces!.length).toBeGreaterThan(1);
    expect(Buffer.concat(pieces!).equals(value)).toBe(true);
    const taken = await connection.getdel(`${prefix}large`);
    expect(Buffer.concat(taken!).equals(value)).toBe(true);
    expect(await redis.exists(`${prefix}large`)).toBe(0);
    expect(await connection.get(`${prefix}large`)).toBeNull();
  });

  it('answers many commands in flight in the order sent', async () => {
    const values = Array.from({ length: 40 }, (_, i) => Buffer.alloc(1000 * i + 1, i));
    await Promise.all(values.map((value, i) => connection.set(`${prefix}many:${i}`, [value], 60_000)));
    const fetched = await Promise.all(values.map((_, i) => connection.getdel(`${prefix}many:${i}`)));
    expect(fetched.every((pieces, i) => Buffer.concat(pieces!).equals(values[i]!))).toBe(true);
  });

  it('fails a command Redis refuses, and only that one', async () => {
    await redis.rpush(`${prefix}list`, 'x');
    const [refused, fine] = await Promise.allSettled([connection.get(`${prefix}list`), connection.set(`${prefix}after`, [Buffer.from('ok')], 60_000)]);
    expect(refused).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/^WRONGTYPE/) } });
    expect(fine.status).toBe('fulfilled');
    expect(await redis.get(`${prefix}after`)).toBe('ok');
  });

  it('is named as the agent names it, and reports a lost connection once, failing what was in flight', async () => {
    // A private server: its writes are paused, so that the SET is surely in flight when the connection is killed.
    const port = await privateRedis((port) => ['--port', String(port)]);
    const admin = new Redis(port, '127.0.0.1');
    const lost = await PayloadConnection.open(`redis://127.0.0.1:${port}`, 'mpiaas-test-payloads-lost');
    const id = /id=(\d+) [^\n]*name=mpiaas-test-payloads-lost /.exec((await admin.client('LIST')) as string)?.[1];
    expect(id).toBeDefined();
    const closed = vi.fn();
    lost.onClose(closed);
    await admin.client('PAUSE', 10_000, 'WRITE');
    const inFlight = lost.set('k', [Buffer.alloc(1024 * 1024)], 60_000).then(
      () => 'stored',
      (error: Error) => error.message,
    );
    await admin.client('KILL', 'ID', id!);
    expect(await inFlight).toMatch(/closed|EPIPE|ECONNRESET/);
    await vi.waitFor(() => expect(closed).toHaveBeenCalledTimes(1));
    await expect(lost.get('k')).rejects.toThrow(/closed/);
    const toldLate = vi.fn();
    lost.onClose(toldLate); // a listener added after the loss hears of it at once
    await vi.waitFor(() => expect(toldLate).toHaveBeenCalledTimes(1));
    await admin.client('UNPAUSE');
    admin.disconnect();
  });

  it('authenticates with the password, or the user and password, of the URL, and selects its database', async () => {
    const port = await privateRedis((port) => ['--port', String(port), '--requirepass', 's3cret', '--user', 'agent', 'on', '>pa55', '~*', '+@all']);
    const withPassword = await PayloadConnection.open(`redis://:s3cret@127.0.0.1:${port}/3`, 'with-password');
    await withPassword.set('k', [Buffer.from('in db 3')], 60_000);
    withPassword.close();
    const admin = new Redis(`redis://:s3cret@127.0.0.1:${port}/3`);
    expect(await admin.get('k')).toBe('in db 3');
    admin.disconnect();
    const asUser = await PayloadConnection.open(`redis://agent:pa55@127.0.0.1:${port}/3`, 'as-user');
    expect(Buffer.concat((await asUser.get('k'))!).toString()).toBe('in db 3');
    asUser.close();
    const byQuery = await PayloadConnection.open(`redis://127.0.0.1:${port}?password=s3cret&db=3`, 'by-query');
    expect(Buffer.concat((await byQuery.get('k'))!).toString()).toBe('in db 3');
    byQuery.close();
    await expect(PayloadConnection.open(`redis://:wrong@127.0.0.1:${port}`, 'wrong')).rejects.toThrow(
      `cannot connect to Redis at redis://:***@127.0.0.1:${port}: WRONGPASS`,
    );
    await expect(PayloadConnection.open(`redis://127.0.0.1:${port}`, 'none')).rejects.toThrow(/NOAUTH/);
  });

  it('says which Redis it cannot reach', async () => {
    const port = await freePort();
    await expect(PayloadConnection.open(`redis://127.0.0.1:${port}`, 'nobody')).rejects.toThrow(`cannot connect to Redis at redis://127.0.0.1:${port}: connect ECONNREFUSED`);
  });

  it('speaks TLS to a rediss:// URL, checking the certificate', async () => {
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
    const port = await privateRedis((port) => ['--port', '0', '--tls-port', String(port), '--tls-cert-file', cert, '--tls-key-file', key, '--tls-auth-clients', 'no']);
    // Trusted as an operator's private CA would be (in the service: NODE_EXTRA_CA_CERTS).
    const trusted = await PayloadConnection.open(`rediss://localhost:${port}`, 'tls', { ca: readFileSync(cert) });
    await trusted.set('k', [Buffer.from('over TLS')], 60_000);
    expect(Buffer.concat((await trusted.getdel('k'))!).toString()).toBe('over TLS');
    trusted.close();
    await expect(PayloadConnection.open(`rediss://localhost:${port}`, 'untrusted')).rejects.toThrow(
      `cannot connect to Redis at rediss://localhost:${port}: self-signed certificate`,
    );
  });

  it('reads a URL as ioredis does, query options and all', () => {
    expect(redisTarget('redis://127.0.0.1:6379')).toEqual({ host: '127.0.0.1', port: 6379, db: 0 });
    expect(redisTarget('rediss://user:p%40ss@cache.internal:6380/2')).toMatchObject({ host: 'cache.internal', port: 6380, tls: {}, username: 'user', password: 'p@ss', db: 2 });
    expect(redisTarget('redis://cache?db=3&password=pw')).toEqual({ host: 'cache', port: 6379, password: 'pw', db: 3 });
    expect(redisTarget('redis://cache:6379/4/')).toMatchObject({ db: 4 });
    expect(redisTarget('redis://:pw@[::1]')).toEqual({ host: '::1', port: 6379, password: 'pw', db: 0 });
  });
});
