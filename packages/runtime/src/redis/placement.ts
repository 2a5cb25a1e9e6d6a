/**
 * How many agents a job has, from the agent index of each world rank: agents are numbered
 * from 0 and each hosts at least one rank.
 */
export function agentCountOf(placement: readonly number[]): number {
  let highest = 0;
  for (const agent of placement) if (agent > highest) highest = agent;
  return highest + 1;
}

/** Ranks dealt round-robin to `agents` agents (at most one per rank), as runJob places them. */
export function roundRobinPlacement(np: number, agents: number): number[] {
  const count = Math.max(1, Math.min(agents, np));
  return Array.from({ length: np }, (_, rank) => rank % count);
}
