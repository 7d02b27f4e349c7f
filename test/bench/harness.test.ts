// The benchmark harness as CI's smoke test (issue 7): `uvs bench --quick` builds its lab,
// drives every scenario through every balancer once, and writes its JSON, markdown table
// and SVG charts. It asserts that the run completed and measured something for each
// balancer and scenario, never how fast anything was. Bad flags exit 2 with the flag named.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Cell } from '../../bench/harness/summary.js';

const UVS = fileURLToPath(new URL('../../src/cli/uvs.js', import.meta.url));

function uvs(args: string[], timeoutMs: number): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [UVS, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, out, err) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out, err }));
  });
}

t.test('bad flags: exit 2, the flag and what it expected', async (t) => {
  const a = await uvs(['bench', '--balancers', 'direct,ipvs'], 20_000);
  t.equal(a.code, 2);
  t.match(a.err, /--balancers direct,ipvs: unknown ipvs; known: direct, kernel-nat/);
  const b = await uvs(['bench', '--repeats', '0'], 20_000);
  t.equal(b.code, 2);
  t.match(b.err, /--repeats 0: expected a number from 1 to 20/);
});

t.test('uvs bench --quick completes and writes its table, data and charts', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'uvs-bench-smoke-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const r = await uvs(['bench', '--quick', '--out', out, '--prefix', 'bs'], 280_000);
  t.equal(r.code, 0, `exit 0 (${r.err.slice(-600)})`);
  const files = readdirSync(out);
  const json = files.find((f) => f.endsWith('.json'));
  const md = files.find((f) => f.endsWith('.md'));
  t.ok(json && md, `JSON and markdown written (${files.join(', ')})`);
  if (!json || !md) return;
  const result = JSON.parse(readFileSync(join(out, json), 'utf8')) as { cells: Cell[]; options: { balancers: string[]; scenarios: string[] }; truncated: boolean };
  t.same(result.options.scenarios, ['conns', 'keepalive', 'pps', 'bulk', 'latency']);
  t.ok(result.options.balancers.includes('direct') && result.options.balancers.includes('kernel-nat') && result.options.balancers.includes('uvs-nat-1w') && result.options.balancers.includes('uvs-dr-1w'), `balancers: ${result.options.balancers.join(', ')}`);
  t.notOk(result.truncated, 'every balancer got its round within the budget');
  // Something measured for every balancer in the headline metric of every scenario it runs.
  const headline: Record<string, string> = { conns: 'connsPerSec', keepalive: 'requestsPerSec', pps: 'deliveredPps', bulk: 'uploadGbps', latency: 'connectP99at50' };
  for (const b of result.options.balancers) {
    for (const [scenario, metric] of Object.entries(headline)) {
      if (scenario === 'pps' && b === 'haproxy') continue; // a TCP proxy: n/a
      const c = result.cells.find((x) => x.balancer === b && x.scenario === scenario && x.metric === metric);
      t.ok(c && c.median !== null && c.median > 0, `${b} ${scenario}: ${metric} measured (${c?.median})`);
    }
  }
  const table = readFileSync(join(out, md), 'utf8');
  for (const s of result.options.scenarios) t.match(table, new RegExp(`^## ${s}: `, 'm'), `a table for ${s}`);
  t.match(table, /^\| direct: kernel forwarding, [^|]*\| \d/m, 'direct has a row of numbers');
  t.equal(files.filter((f) => f.endsWith('.svg')).length, 5, 'one chart per scenario');
});
