/** Version of the rank ⇄ agent protocol (PROTOCOL.md). Bumped on any incompatible change. */
export const PROTOCOL_VERSION = 2;

/**
 * Version of what a job's agents exchange through Redis and what its leader and workers tell
 * each other (key names, scripts, envelopes, orders and reports: PROTOCOL.md). Workers run a
 * job only with workers of the same version: during a rolling upgrade, old and new workers
 * share the cluster but never a job. Bumped on any incompatible change.
 */
// 4: a collective between two agents has no rendezvous (each pushes its bundle to the other).
// 5: a bcast over three agents or more has none either (its root's agent pushes the data).
// 6: a large envelope's pointer goes before its chunks, which each reader waits for (large-envelopes.ts).
export const AGENT_PROTOCOL_VERSION = 6;
