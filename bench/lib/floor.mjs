// The floor under an MPI call of mpiaas on this machine, measured in the bench's own run:
// a rank reaches its agent over a Unix socket (Python ⇄ Node) and an agent reaches other
// agents through Redis, so no call that crosses agents can be faster than one socket round
// trip plus one Redis round trip.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { median, python, redisUrl } from './common.mjs';

// Python side of the socket ping-pong: 8 bytes out, 8 bytes back, on fd 3 as a rank's channel.
const PINGER = `
import socket, sys, time
s = socket.socket(fileno=3)
buf = bytearray(8)
view = memoryview(buf)
def rounds(n):
    for _ in range(n):
        s.sendall(b'pingpong')
        got = 0
        while got < 8:
            got += s.recv_into(view[got:])
rounds(500)
samples = []
for _ in range(5):
    t = time.perf_counter(); rounds(2000); samples.append((time.perf_counter() - t) / 2000 * 1e6)
print(sorted(samples)[2])
`;

/** 8-byte round trip between a Python process and this Node process over a socketpair, µs. */
export function socketRoundTripMicros() {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-c', PINGER], { stdio: ['ignore', 'pipe', 'inherit', 'pipe'] });
    const channel = child.stdio[3];
    let pending = 0;
    channel.on('data', (chunk) => {
      // Echo every complete 8 bytes at once, as the agent answers a call.
      pending += chunk.length;
      const whole = pending - (pending % 8);
      if (whole > 0) channel.write(Buffer.alloc(whole, 1));
      pending -= whole;
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`socket ping-pong exited ${code}`))));
  });
}

/** PING round trip over a bare TCP connection to Redis (no client library), µs: median of 5 runs. */
export function rawRedisPingMicros() {
  const { hostname, port } = new URL(redisUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port || 6379), noDelay: true });
    const samples = [];
    let left = 0;
    let started = 0n;
    let round = -1;
    const next = () => {
      if (left === 0) {
        if (round >= 0) samples.push(Number(process.hrtime.bigint() - started) / 2000 / 1000);
        if (++round === 6) {
          socket.end();
          return resolve(median(samples.slice(1)));
        }
        left = 2000;
        started = process.hrtime.bigint();
      }
      left--;
      socket.write('PING\r\n');
    };
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk;
      while (buffered.startsWith('+PONG\r\n')) {
        buffered = buffered.slice(7);
        next();
      }
    });
    socket.on('connect', next);
    socket.on('error', reject);
  });
}
