import { AGENT_PROTOCOL_VERSION } from '@mpiaas/runtime';
import { describe, expect, it } from 'vitest';
import { orderRefusal, type ShareOrder } from './share-order';

const order: ShareOrder = { jobId: 'j', attempt: 1, agent: 1, placement: [0, 1], workers: ['a', 'b'], leader: 'a', deadline: 0, protocol: AGENT_PROTOCOL_VERSION };

describe('orderRefusal', () => {
  it('accepts an order from a leader speaking this worker’s agent protocol', () => {
    expect(orderRefusal(order)).toBeUndefined();
  });

  it('refuses one from a leader of another protocol, or of a version before protocols were named', () => {
    expect(orderRefusal({ ...order, protocol: AGENT_PROTOCOL_VERSION + 1 })).toBe(
      `its leader a speaks agent protocol ${AGENT_PROTOCOL_VERSION + 1}, this worker ${AGENT_PROTOCOL_VERSION} (workers of different versions)`,
    );
    const older: ShareOrder = { ...order };
    delete older.protocol;
    expect(orderRefusal(older)).toContain('speaks agent protocol 2 or older');
  });
});
