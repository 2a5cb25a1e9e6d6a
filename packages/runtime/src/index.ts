export { runJob, deleteJobKeys, type RunJobOptions, type OutputStream } from './launch/run-job';
export type { JobOutcome, JobOutcomeStatus, RankOutcome } from './launch/job-outcome';
export { JobKeys } from './redis/job-keys';
export { PROTOCOL_VERSION } from './protocol/version';
export { SHIM_PATH } from './shim-path';
export { evictionPolicyWarning } from './redis/eviction-policy';
