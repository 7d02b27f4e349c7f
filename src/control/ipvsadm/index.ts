// uvsadm's pure front end, an ipvsadm 1.31 drop-in: argv to Command (parseArgs), Command to
// the model (applyCommand, applyDaemonCommand), listings (formatListing), -S (formatSave),
// -R input (parseRestore), usage/version texts, and a whole invocation (runUvsadm).
// Reference: shared/reference/ipvsadm.md.

export { parseArgs, parseHostPort, type ParseOptions } from './args.js';
export { applyCommand, applyDaemonCommand } from './apply.js';
export { formatListing, largeNumber, type ListingResult } from './format.js';
export { listingDataOf, effectiveTimeouts, zeroStats, DEFAULT_TIMEOUTS, DEFAULT_TABLE_SIZE, IPVS_VERSION } from './listing-data.js';
export { builtinNames, namesFromServicesFile, parseServices } from './names.js';
export { parseRestore, splitRestoreLines, type RestoreLine } from './restore.js';
export { runUvsadm, type RunEnvironment, type RunOutcome, type UvsadmState } from './run.js';
export { formatSave } from './save.js';
export { tryHelp, usageText, VERSION_LINE } from './usage.js';
export type * from './types.js';
