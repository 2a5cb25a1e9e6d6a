import type { WorkerSlots } from './gang-scheduler';

/** Where each world rank of a job runs: agent index per rank, and the worker of each agent. */
export interface RankPlacement {
  placement: number[];
  workers: string[];
}

/**
 * Maps np ranks onto the slots a job was given, in blocks of consecutive ranks per worker
 * (as mpirun's default `--map-by slot`): neighbours in rank order, which most codes talk to
 * most, share a worker. With fewer slots than ranks (oversubscribed), each worker gets
 * ranks in proportion to its slots.
 */
export function placeRanks(slots: readonly WorkerSlots[], np: number): RankPlacement {
  const total = slots.reduce((sum, part) => sum + part.slots, 0);
  const counts = slots.map((part) => Math.floor((np * part.slots) / total));
  for (let left = np - counts.reduce((a, b) => a + b, 0), i = 0; left > 0; left--, i++) counts[i % counts.length]! += 1;
  const placement: number[] = [];
  const workers: string[] = [];
  counts.forEach((count, index) => {
    if (count === 0) return;
    const agent = workers.length;
    workers.push((slots[index] as WorkerSlots).worker);
    for (let i = 0; i < count; i++) placement.push(agent);
  });
  return { placement, workers };
}
