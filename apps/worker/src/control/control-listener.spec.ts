// The control channel on a real Redis: another worker's freed slots wake the jobs held here
// at once; this worker's own announcement does not (it woke its own already).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { controlChannel, type ControlMessage } from '@mpiaas/contracts';
import type { WorkerConfig } from '../config/worker-config';
import { SlotWaiters } from '../placement/slot-waiters';
import { ActiveRuns } from '../runs/active-runs';
import { ControlListener } from './control-listener';

const REDIS_URL = process.env.MPIAAS_REDIS_URL ?? 'redis://127.0.0.1:6379';
const publisher = new Redis(REDIS_URL);
let listener: ControlListener | undefined;
afterEach(async () => listener?.onApplicationShutdown());
afterAll(() => publisher.disconnect());

describe('ControlListener', () => {
  it('wakes held jobs when another worker frees slots, not on its own announcement', async () => {
    const config = { REDIS_URL, QUEUE_PREFIX: `test-control-${randomBytes(4).toString('hex')}`, WORKER_ID: 'a' } as WorkerConfig;
    const held = new SlotWaiters();
    listener = new ControlListener(config, new ActiveRuns(), held);
    await listener.onModuleInit();
    const announce = (message: ControlMessage): Promise<number> => publisher.publish(controlChannel(config.QUEUE_PREFIX), JSON.stringify(message));

    let started = Date.now();
    const own = held.wait(400);
    await announce({ type: 'slots-freed', from: 'a', slots: 1 });
    await own;
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);

    started = Date.now();
    const waits = [held.wait(10_000), held.wait(10_000), held.wait(10_000)];
    await announce({ type: 'slots-freed', from: 'b', slots: 2 });
    await Promise.all(waits.slice(0, 2));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(held.size).toBe(1);
    held.wake(1);
  });
});
