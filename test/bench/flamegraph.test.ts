// bench/tools/flamegraph on a synthetic V8 profile: the merged call tree's totals, the
// self-time table (idle functions apart), and an SVG that parses and names the frames.
import t from 'tap';
import { callTree, flameSvg, isIdle, selfTable, selfTableMarkdown, type CpuProfile } from '../../bench/tools/flamegraph.js';

const cf = (functionName: string, line = 0, url = 'file:///work/main/dist/src/datapath/worker.js') => ({ functionName, url, lineNumber: line, columnNumber: 0, scriptId: '1' });
// (root) -> runWorker -> { wait (poll-set: idle), handle -> parseFrame, flush }, and a second
// runWorker node under (root) that must merge with the first.
const profile: CpuProfile = {
  startTime: 0,
  endTime: 1000,
  nodes: [
    { id: 1, callFrame: cf('(root)', -1, ''), children: [2, 7] },
    { id: 2, callFrame: cf('runWorker', 9), children: [3, 4, 6] },
    { id: 3, callFrame: cf('wait', 39, 'file:///work/main/dist/src/frameio/poll-set.js') },
    { id: 4, callFrame: cf('handle', 170, 'file:///work/main/dist/src/datapath/engine.js'), children: [5] },
    { id: 5, callFrame: cf('parseFrame', 21, 'file:///work/main/dist/src/packet/frame.js') },
    { id: 6, callFrame: cf('flush', 145, 'file:///work/main/dist/src/frameio/tx-ring.js') },
    { id: 7, callFrame: cf('runWorker', 9), children: [8] },
    { id: 8, callFrame: cf('flush', 145, 'file:///work/main/dist/src/frameio/tx-ring.js') },
  ],
  // self samples: wait 5, handle 1, parseFrame 2, flush 1+1, runWorker 1
  samples: [3, 3, 3, 3, 3, 4, 5, 5, 6, 8, 2],
  timeDeltas: [100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 0],
};

t.test('call tree, self table and SVG', async (t) => {
  const tree = callTree(profile);
  t.equal(tree.total, 11, 'every sample counted once');
  t.equal(tree.children.length, 1, 'the two runWorker nodes merged');
  const rw = tree.children[0]!;
  t.same([rw.name, rw.where, rw.total, rw.self], ['runWorker', 'src/datapath/worker.js:10', 11, 1], 'runWorker: file:line (1-based), all samples under it');
  t.same(rw.children.map((c) => [c.name, c.total]), [['wait', 5], ['handle', 3], ['flush', 2]], 'children by total, merged flush');
  t.ok(isIdle('wait', 'src/frameio/poll-set.js:40', ['wait@src/frameio/poll-set']), 'name@file-prefix idles');
  t.notOk(isIdle('wait', 'src/other.js:1', ['wait@src/frameio/poll-set']), 'but only in that file');
  const table = selfTable(tree);
  t.equal(table.busy, 6, 'busy = all but the poll wait');
  t.same(table.rows.map((r) => r.self), [5, 2, 2, 1, 1], 'rows sorted by self samples');
  t.same(new Set(table.rows.map((r) => r.name)), new Set(['wait', 'parseFrame', 'flush', 'runWorker', 'handle']), 'one row per function');
  t.equal(table.rows[0]!.busyShare, null, 'an idle row has no busy share');
  t.equal(table.rows.find((r) => r.name === 'flush')!.busyShare, 2 / 6, 'flush: 2 of 6 busy samples');
  t.equal(table.rows.find((r) => r.name === 'handle')!.inclusive, 3, 'handle with callees');
  t.match(selfTableMarkdown(table, 3), /\| 1 \| `wait` \| src\/frameio\/poll-set\.js:40 \| 5 \| idle \|/, 'markdown row');
  const svg = flameSvg(tree, { title: 'test <profile>', usPerSample: 100 });
  t.match(svg, /^<\?xml[^]*<svg [^]*<\/svg>\n$/, 'one SVG document');
  t.match(svg, /test &lt;profile&gt;/, 'title escaped');
  t.match(svg, /<title>parseFrame src\/packet\/frame\.js:22\n2 samples \(18\.18%, ≈0\.2 ms\), self 2/, 'hover title with numbers');
  t.equal((svg.match(/<rect x=/g) ?? []).length, 6, 'a rectangle per frame: all, runWorker, wait, handle, parseFrame, flush');
});
