// Zero allocation on the hot path, checked the way it matters: run parse + rewrite for
// millions of packets in a child with a 1 MiB young generation and --trace-gc, and count
// garbage collections between the probe's markers. Asserts no GC, never a speed.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const probe = fileURLToPath(new URL('../fixtures/packet/alloc-probe.js', import.meta.url));

t.test('parse + NAT rewrite + ICMP inner rewrite + IPIP allocate nothing per packet', async (t) => {
  const res = spawnSync(process.execPath, ['--expose-gc', '--trace-gc', '--max-semi-space-size=1', probe, '3000000'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  t.equal(res.status, 0, `probe exited cleanly ${res.stderr}`);
  const out = res.stdout;
  const windows: { gcs: string[]; heapDelta: number }[] = [];
  for (let w = 0; ; w++) {
    const start = out.indexOf(`MEASURE-START ${w}`);
    const end = out.indexOf(`MEASURE-END ${w}`);
    if (start < 0 || end < start) break;
    const gcs = out.slice(start, end).split('\n').filter((l) => /Scavenge|Mark-Compact|Mark-sweep/i.test(l));
    const stats = JSON.parse(out.slice(end).split('\n')[1]!) as { heapDelta: number };
    windows.push({ gcs, heapDelta: stats.heapDelta });
  }
  t.equal(windows.length, 3, 'three measurement windows of 1M packets');
  // Per-packet allocation of even one small object fills 1 MiB within ~30k packets, so it
  // would show in every window; the best window must be clean.
  const best = windows.reduce((a, b) => (a.gcs.length <= b.gcs.length ? a : b));
  t.same(best.gcs, [], `no garbage collection in a 1M-packet window (GCs per window: ${windows.map((w) => w.gcs.length).join(', ')})`);
  t.ok(best.heapDelta < 256 * 1024, `heap grew ${best.heapDelta} bytes over 1M packets`);
});
