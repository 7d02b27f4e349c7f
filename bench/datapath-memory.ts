// bench/datapath-memory: the worker's per-packet path — parse -> connection lookup ->
// NAT rewrite -> copy into the TX ring — over recorded frames in memory (no sockets), in
// ns per packet, for 1 and 2 worker threads side by side with a plain copy of the same
// frames (the floor). Numbers only; nothing is asserted.
//
//   node dist/bench/datapath-memory.js [--seconds 2] [--flows 4096] [--repeats 3]

import { parseArgs } from 'node:util';
import { median } from './tools/measure.js';
import { inThreads, type Job } from './tools/engine-measure.js';

{
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2' }, flows: { type: 'string', default: '4096' }, repeats: { type: 'string', default: '3' } } });
  const seconds = Math.min(10, Number(values.seconds));
  const repeats = Math.max(1, Math.min(9, Number(values.repeats)));
  const flows = Math.min(100000, Number(values.flows));
  const rows: string[] = [];
  const results: Record<string, number> = {};
  const cases: [Job['mode'], boolean, number, string][] = [
    ['copy', false, 1, 'TX copy only (floor)'],
    ['engine', false, 1, 'parse + lookup + NAT + copy, rings in separate buffers'],
    ['engine', true, 1, 'parse + lookup + NAT + copy, rings in one buffer (as the worker)'],
    ['engine', true, 2, 'parse + lookup + NAT + copy, rings in one buffer (as the worker)'],
  ];
  // Interleaved repeats, medians: single runs here move by ±30%.
  const samples = cases.map(() => ({ pps: [] as number[], ns: [] as number[] }));
  for (let r = 0; r < repeats; r++) {
    for (let c = 0; c < cases.length; c++) {
      const [mode, combined, threads] = cases[c]!;
      const rs = await inThreads({ seconds, flows, mode, combined }, threads);
      samples[c]!.pps.push(rs.reduce((s, x) => s + x.packets / (x.ns / 1e9), 0));
      samples[c]!.ns.push(rs.reduce((s, x) => s + x.ns / x.packets, 0) / rs.length);
    }
  }
  cases.forEach(([mode, combined, threads, label], c) => {
    const pps = median(samples[c]!.pps);
    const ns = samples[c]!.ns;
    results[`${mode}${combined ? 'c' : ''}${threads}`] = pps;
    rows.push(`| ${label} | ${threads} | ${median(ns).toFixed(0)} (${Math.min(...ns).toFixed(0)}–${Math.max(...ns).toFixed(0)}) | ${(pps / 1e6).toFixed(2)} |`);
  });
  process.stdout.write(
    [
      `datapath-memory: ${flows} established NAT flows, 64 B payload frames, batches of 4096, ${repeats} interleaved runs of ${seconds}s per row, medians`,
      '',
      '| path | threads | ns/packet per thread, median (min–max) | Mpps total |',
      '| --- | --- | --- | --- |',
      ...rows,
      '',
      `engine, 2 threads / 1 thread: ${(results.enginec2! / results.enginec1!).toFixed(2)}x`,
    ].join('\n') + '\n',
  );
}
