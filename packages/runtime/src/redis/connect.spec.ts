import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { connectRedis } from './connect';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('connectRedis', () => {
  it('names the Redis it cannot reach, without the password', async () => {
    await expect(connectRedis('redis://:s3cret@127.0.0.1:1', 'mpiaas-test-unreachable')).rejects.toThrow(
      /^cannot connect to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1: /,
    );
  });

  it('does not subscribe a runtime connection again after it was cut: the job has failed by then', async () => {
    const name = `mpiaas-test-resubscribe-${randomUUID().slice(0, 8)}`;
    const channel = `mpiaas-test:${name}`;
    const subscriber = await connectRedis(REDIS_URL, name);
    const admin = new Redis(REDIS_URL);
    try {
      const heard: string[] = [];
      subscriber.on('message', (_channel: string, message: string) => heard.push(message));
      await subscriber.subscribe(channel);
      await admin.publish(channel, 'before');
      await expect.poll(() => heard).toEqual(['before']);

      const reconnected = new Promise((resolve) => subscriber.once('ready', resolve));
      await admin.client('KILL', 'ID', String(await clientId(admin, name)));
      await reconnected;
      expect(await admin.publish(channel, 'after')).toBe(0); // nobody subscribed
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(heard).toEqual(['before']);
    } finally {
      subscriber.disconnect();
      admin.disconnect();
    }
  });
});

async function clientId(admin: Redis, name: string): Promise<number> {
  const line = ((await admin.client('LIST')) as string).split('\n').find((entry) => entry.includes(` name=${name} `));
  const id = line ? /id=(\d+)/.exec(line)?.[1] : undefined;
  if (!id) throw new Error(`no client named ${name}`);
  return Number(id);
}
