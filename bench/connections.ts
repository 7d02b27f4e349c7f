// bench/connections: the connection table (src/tables/connection-table.ts) at 1M entries —
// bytes of memory per connection (table + buckets, measured and computed from the layout)
// and ns per insert / inbound lookup / outbound lookup — side by side with the naive way,
// a JS Map keyed by a string holding one object per connection, in the same run. Medians
// of interleaved repeats. Numbers only; nothing is asserted.
//
//   node dist/bench/connections.js [--entries 1000000] [--repeats 3]

import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ConnectionTable } from '../src/tables/connection-table.js';
import { createDestCounters } from '../src/tables/dest-counters.js';
import { TemplateTable } from '../src/tables/template-table.js';
import { median } from './tools/measure.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const TCP = 6;
const VIP = 0xc6120064;
const RS = 0xc613000b;
const NOW = Date.now();

/** What the naive implementation keeps per connection. */
interface Conn {
  proto: number;
  caddr: number;
  cport: number;
  vaddr: number;
  vport: number;
  daddr: number;
  dport: number;
  flags: number;
  state: number;
  dest: number;
  expires: number;
}

/** Distinct client endpoints (4 ports per client address) and a shuffled visiting order. */
function workload(n: number): { caddr: Uint32Array; cport: Uint16Array; order: Int32Array } {
  const caddr = new Uint32Array(n);
  const cport = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    caddr[i] = (0x0a000000 + (i >>> 2)) >>> 0;
    cport[i] = 30000 + (i & 3);
  }
  const order = Int32Array.from({ length: n }, (_, i) => i);
  let seed = 12345;
  for (let i = n - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const j = (seed >>> 8) % (i + 1);
    const x = order[i]!;
    order[i] = order[j]!;
    order[j] = x;
  }
  return { caddr, cport, order };
}

const key = (proto: number, caddr: number, cport: number, vaddr: number, vport: number): string => `${proto}:${caddr}:${cport}:${vaddr}:${vport}`;

interface Sample {
  bytes: number;
  insertNs: number;
  lookupNs: number;
  lookupOutNs: number;
}

function benchTable(w: ReturnType<typeof workload>): Sample {
  const n = w.caddr.length;
  gc();
  const before = process.memoryUsage().arrayBuffers;
  const t = new ConnectionTable(createDestCounters(1), { capacity: n });
  const bytes = process.memoryUsage().arrayBuffers - before;
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) t.insert(TCP, w.caddr[i]!, w.cport[i]!, VIP, 80, RS, 80, 0, -1, NOW);
  const insertNs = Number(process.hrtime.bigint() - t0) / n;
  let found = 0;
  t0 = process.hrtime.bigint();
  for (let k = 0; k < n; k++) {
    const i = w.order[k]!;
    if (t.lookupIn(TCP, w.caddr[i]!, w.cport[i]!, VIP, 80, NOW) >= 0) found++;
  }
  const lookupNs = Number(process.hrtime.bigint() - t0) / n;
  t0 = process.hrtime.bigint();
  for (let k = 0; k < n; k++) {
    const i = w.order[k]!;
    if (t.lookupOut(TCP, w.caddr[i]!, w.cport[i]!, RS, 80, NOW) >= 0) found++;
  }
  const lookupOutNs = Number(process.hrtime.bigint() - t0) / n;
  if (found !== 2 * n || t.size !== n) throw new Error(`table: found ${found}, size ${t.size}`);
  return { bytes: bytes / n, insertNs, lookupNs, lookupOutNs };
}

function benchMap(w: ReturnType<typeof workload>): Sample {
  const n = w.caddr.length;
  gc();
  const before = process.memoryUsage().heapUsed;
  const m = new Map<string, Conn>();
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const c: Conn = { proto: TCP, caddr: w.caddr[i]!, cport: w.cport[i]!, vaddr: VIP, vport: 80, daddr: RS, dport: 80, flags: 0, state: 0, dest: -1, expires: NOW + 3000 };
    m.set(key(TCP, c.caddr, c.cport, VIP, 80), c);
  }
  const insertNs = Number(process.hrtime.bigint() - t0) / n;
  let found = 0;
  t0 = process.hrtime.bigint();
  for (let k = 0; k < n; k++) {
    const i = w.order[k]!;
    if (m.get(key(TCP, w.caddr[i]!, w.cport[i]!, VIP, 80)) !== undefined) found++;
  }
  const lookupNs = Number(process.hrtime.bigint() - t0) / n;
  gc();
  const bytes = process.memoryUsage().heapUsed - before;
  if (found !== n || m.size !== n) throw new Error(`map: found ${found}`);
  // The naive table would need a second map for replies (keyed by client + real server); not built here.
  return { bytes: bytes / n, insertNs, lookupNs, lookupOutNs: NaN };
}

const { values } = parseArgs({ options: { entries: { type: 'string', default: '1000000' }, repeats: { type: 'string', default: '3' } } });
const n = Math.max(1000, Math.min(4_000_000, Number(values.entries)));
const repeats = Math.max(1, Math.min(9, Number(values.repeats)));
const w = workload(n);
const runs: Record<'table' | 'map', Sample[]> = { table: [], map: [] };
for (let r = 0; r < repeats; r++) {
  runs.table.push(benchTable(w));
  runs.map.push(benchMap(w));
  gc();
}
const med = (xs: Sample[], k: keyof Sample): number => median(xs.map((x) => x[k]));
const row = (label: string, xs: Sample[]): string => {
  const out = med(xs, 'lookupOutNs');
  return `| ${label} | ${med(xs, 'bytes').toFixed(1)} | ${med(xs, 'insertNs').toFixed(0)} | ${med(xs, 'lookupNs').toFixed(0)} | ${Number.isNaN(out) ? '—' : out.toFixed(0)} |`;
};
process.stdout.write(
  [
    `connections: ${n} TCP connections (4 per client address), lookups in shuffled order, ${repeats} interleaved runs, medians`,
    '',
    '| table | bytes/connection | insert ns | lookup in ns | lookup out ns |',
    '| --- | --- | --- | --- | --- |',
    row('ConnectionTable (typed arrays, one buffer)', runs.table),
    row('Map<string, object> (naive; no reply index)', runs.map),
    '',
    `computed from the layout: ${(ConnectionTable.bufferBytes(n) / n).toFixed(1)} B/connection (entry fields + chain link + buckets); templates: ${(TemplateTable.bufferBytes(n) / n).toFixed(1)} B/template`,
  ].join('\n') + '\n',
);
