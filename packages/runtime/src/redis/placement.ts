/**
 * How many agents a job has, from the agent index of each world rank: agents are numbered
 * from 0 and each hosts at least one rank.
 */
export function agentCountOf(placement: readonly number[]): number {
  let highest = 0;
  for (const agent of placement) if (agent > highest) highest = agent;
  return highest + 1;
}
