// Zero allocation for GSO segmentation, fragmentation and ICMP error building, checked like
// alloc.test.ts: a child with a 1 MiB young generation and --trace-gc runs them many times
// and no garbage collection may happen between its markers (best of three windows: a late
// optimisation on a loaded machine can dirty one, real per-packet allocation dirties all).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const probe = fileURLToPath(new URL('../fixtures/packet/alloc-probe-segmentation.js', import.meta.url));

t.test('segmenter, fragmenter and ICMP error writers allocate nothing per packet', async (t) => {
  const n = 150_000;
  const res = spawnSync(process.execPath, ['--expose-gc', '--trace-gc', '--max-semi-space-size=1', probe, String(n)], {
    encoding: 'utf8',
    timeout: 240_000,
  });
  t.equal(res.status, 0, `probe exited cleanly ${res.stderr}`);
  const lines = res.stdout.split('\n');
  const windows: { gcs: string[]; heapDelta: number }[] = [];
  let cur: string[] | undefined;
  for (const l of lines) {
    if (l.startsWith('MEASURE-START')) cur = [];
    else if (l.startsWith('MEASURE-END')) {
      windows.push({ gcs: cur ?? [], heapDelta: NaN });
      cur = undefined;
    } else if (cur && /Scavenge|Mark-Compact|Mark-sweep/i.test(l)) cur.push(l);
    else if (l.startsWith('{"window"')) windows[windows.length - 1]!.heapDelta = (JSON.parse(l) as { heapDelta: number }).heapDelta;
  }
  t.equal(windows.length, 3, 'three measured windows');
  const best = windows.reduce((a, b) => (b.gcs.length < a.gcs.length ? b : a));
  t.same(best.gcs, [], `no garbage collection over ${Math.floor(n / 3)} iterations (each: 2 super-frames segmented, 1 datagram fragmented, 2 ICMP errors)`);
  // Per iteration, even 1 byte would be 50 KB; allow for heap accounting noise only.
  t.ok(best.heapDelta < 256 * 1024, `heap grew ${best.heapDelta} bytes`);
});
