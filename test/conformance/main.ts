// `npm run conformance [-- PATTERN]`: the differential suite outside tap, printing one line
// per scenario (kernel vs uvs, same or not), the diff of each that differs, and the times;
// exit 1 on any difference, 0 when all agree, 0 with the reason when the oracle cannot run
// here (1 in CI). The results go to .cache/conformance/last-run.json, each side's
// observations to .cache/conformance/transcripts/.

import { join } from 'node:path';
import { cacheRoot } from './harness/image.js';
import { ConformanceUnavailable, mustRun } from './harness/unavailable.js';
import { runConformance, writeTranscripts } from './run.js';

const pattern = process.argv[2];
try {
  const run = await runConformance(pattern ? new RegExp(pattern) : undefined, (l) => console.log(l));
  let differing = 0;
  for (const r of run.results) {
    console.log(`${r.same ? 'same' : 'DIFF'}  ${r.group.padEnd(12)} ${r.name.padEnd(28)} ${r.steps} steps`);
    if (!r.same) differing++;
  }
  for (const r of run.results.filter((x) => !x.same)) console.log(`\n=== ${r.name} (- kernel, + uvs)\n${r.diff}`);
  console.log(`\nkernel ${run.kernel}; guest boot ${(run.bootMs / 1000).toFixed(1)} s, guest total ${(run.guestMs / 1000).toFixed(1)} s, whole run ${(run.totalMs / 1000).toFixed(1)} s; ${run.results.length - differing}/${run.results.length} scenarios agree`);
  writeTranscripts(run, cacheRoot());
  console.log(`transcripts (what each side observed) in ${join(cacheRoot(), 'transcripts')}`);
  process.exitCode = differing === 0 ? 0 : 1;
} catch (e) {
  if (e instanceof ConformanceUnavailable) {
    console.log(`conformance ${mustRun() ? 'FAILED' : 'skipped'}: ${e.message}`);
    process.exitCode = mustRun() ? 1 : 0;
  } else throw e;
}
