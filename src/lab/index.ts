// The network-namespace lab: one builder for the demo, the tests and the benchmarks.
// See docs/lab.md.
export { buildLab, Lab, labDown, labDownSync, labStatus, labSweep, listLabs, PROBE_PATH, REAL_SERVER_PATH } from './lab.js';
export type { LabDownOptions, LabExecOptions, LabProcess, LabSpawnOptions, ProbeResult, ProbeSpec } from './lab.js';
export { DEFAULT_PREFIX, isLabNamespace, MAX_PREFIX_LEN, MAX_SERVERS, planLab, resolveOptions, validatePrefix } from './plan.js';
export { LabExecError } from './sys.js';
export { statePath } from './state.js';
export * from './types.js';
