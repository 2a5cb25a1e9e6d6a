// A rank's control connection to a launcher (here a stand-in on a real Unix socket that
// starts nothing): a kill reaches the launcher while the rank runs, and none is written once
// it has exited (the launcher has killed its group and may have closed its end).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LaunchedRank } from './launched-rank';

interface StandIn {
  socketPath: string;
  /** What the rank's control connection sent after its header lines. */
  controlLines: string[];
  control: Promise<Socket>;
  server: Server;
}

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function standInLauncher(): Promise<StandIn> {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'launched-rank-'));
  folders.push(folder);
  const socketPath = path.join(folder, 'launcher.sock');
  const controlLines: string[] = [];
  let onControl: (socket: Socket) => void = () => undefined;
  const control = new Promise<Socket>((resolve) => (onControl = resolve));
  const server = createServer((socket) => {
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const message = JSON.parse(line) as { role?: string };
        if (message.role === 'control') onControl(socket);
        else if (message.role === undefined) controlLines.push(line);
        else socket.end(); // a stream connection: the rank would write here
      }
    });
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(socketPath, () => resolve({ socketPath, controlLines, control, server })));
}

const spawnOptions = { rank: 0, python: '/usr/bin/python3', script: 'x.py', args: [], cwd: '/', env: {} };

describe('LaunchedRank.killGroup', () => {
  it('asks the launcher to signal the group while the rank runs', async () => {
    const launcher = await standInLauncher();
    const rank = new LaunchedRank(launcher.socketPath, spawnOptions);
    const control = await launcher.control;
    rank.killGroup('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(launcher.controlLines).toEqual(['{"kill":"SIGTERM"}']);
    control.write('{"exit":null,"signal":"SIGTERM"}\n');
    expect(await rank.exited).toEqual({ code: null, signal: 'SIGTERM' });
    launcher.server.close();
  });

  it('writes nothing once the rank has exited', async () => {
    const launcher = await standInLauncher();
    const rank = new LaunchedRank(launcher.socketPath, spawnOptions);
    const control = await launcher.control;
    control.write('{"exit":0}\n');
    expect(await rank.exited).toEqual({ code: 0, signal: null });
    rank.killGroup('SIGKILL');
    rank.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(launcher.controlLines).toEqual([]);
    launcher.server.close();
  });
});
