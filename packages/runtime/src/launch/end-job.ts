import type { Redis } from 'ioredis';
import { encodeEnvelope, type ShareVerdict } from '../redis/envelope';
import { JobKeys } from '../redis/job-keys';

/** How long the notice stays if nobody reads it (the job's cleanup deletes it before). */
const NOTICE_TTL_MS = 3_600_000;

/**
 * Ends a job on every agent from outside them (its leader is shutting down or lost a
 * worker): each agent finds the verdict in its inbox and stops its ranks with it.
 */
export async function endJobEverywhere(
  redis: Redis,
  keyPrefix: string,
  runId: string,
  agentCount: number,
  verdict: Omit<ShareVerdict, 'at'>,
): Promise<void> {
  const keys = new JobKeys(keyPrefix, runId);
  const envelope = encodeEnvelope({ t: 'k', a: -1, v: { ...verdict, at: Date.now() } });
  const pipeline = redis.pipeline();
  for (let agent = 0; agent < agentCount; agent++) {
    pipeline.rpush(keys.mailbox(agent), envelope).pexpire(keys.mailbox(agent), NOTICE_TTL_MS);
  }
  await pipeline.exec();
}
