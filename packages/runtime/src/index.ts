export { runJob, deleteJobKeys, type RunJobOptions, type OutputStream } from './launch/run-job';
export { runAgentShare, type AgentShareOptions, type ShareOutcome, type StopVerdict } from './launch/agent-share';
export { endJobEverywhere } from './launch/end-job';
export { combineShares } from './launch/combine-shares';
export type { ShareVerdict } from './redis/envelope';
export type { JobOutcome, JobOutcomeStatus, RankOutcome } from './launch/job-outcome';
export { JobKeys } from './redis/job-keys';
export { readPresence, type AgentPresence } from './redis/agent-presence';
export { AGENT_PROTOCOL_VERSION, PROTOCOL_VERSION } from './protocol/version';
export { SHIM_PATH } from './shim-path';
export { evictionPolicyWarning } from './redis/eviction-policy';
export { RankProcess, rankCommand, type RankExit, type RankHandle, type RankSpawner, type RankSpawnOptions } from './launch/rank-process';
export { combineDiagnoses, groupRanks, type Diagnosis, type DiagnosisKind, type RankDiagnosis } from './launch/diagnosis';
export {
  buildJobProfile,
  collectiveDurations,
  COLLECTIVE_OPS,
  type JobProfile,
  type RankProfile,
} from './launch/profile';
