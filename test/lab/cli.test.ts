// `uvs lab up|status|down` end to end, through the compiled CLI (dist/src/cli/uvs.js).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { labDown, PROBE_PATH } from '../../src/lab/index.js';
import { labNamespaces, netnsList, pidAlive, uniquePrefix, waitFor } from '../../src/lab/testing.js';

t.setTimeout(120_000);
const UVS = fileURLToPath(new URL('../../src/cli/uvs.js', import.meta.url));

function uvs(args: string[], opts: { asNobody?: boolean } = {}): { code: number | null; out: string; err: string } {
  const argv = [process.execPath, UVS, ...args];
  const cmd = opts.asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', ...argv] : argv;
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

t.test('up, status, traffic, down', async (t) => {
  const prefix = uniquePrefix('c');
  t.teardown(() => labDown(prefix).then(() => {}, () => {}));

  const up = uvs(['lab', 'up', '--prefix', prefix, '--servers', '2', '--mode', 'dr']);
  t.equal(up.code, 0, `up exits 0 ${up.err}`);
  t.match(up.out, new RegExp(`lab '${prefix}' is up in [0-9.]+ s: mode dr, 2 real servers`));
  for (const re of [
    new RegExp(`${prefix}-sw\\s+brpub\\s+02:75:76:18:00:01\\s+198\\.18\\.0\\.1/24`),
    new RegExp(`${prefix}-client\\s+eth0\\s+02:75:76:18:00:0a\\s+198\\.18\\.0\\.10\\s+fd00:18::10`),
    new RegExp(`${prefix}-dir1\\s+pub0\\s+\\S+\\s+198\\.18\\.0\\.2`),
    new RegExp(`${prefix}-rs2\\s+eth0\\s+02:75:76:19:00:0c\\s+198\\.19\\.0\\.12\\s+fd00:19::12\\s+198\\.19\\.0\\.1 \\(VIP on lo\\)`),
    /VIP\s+198\.18\.0\.100, fd00:18::100/,
    /NAT router\s+198\.19\.0\.254/,
    new RegExp(`ip netns exec ${prefix}-client curl http://198\\.19\\.0\\.11/`),
  ]) {
    t.match(up.out, re);
  }
  t.same(labNamespaces(prefix).length, 6);

  // The lab outlived the CLI process: its real servers answer.
  const st = uvs(['lab', 'status', '--prefix', prefix, '--json']);
  t.equal(st.code, 0);
  const status = JSON.parse(st.out) as { up: boolean; persistent: boolean; processes: { pid: number; alive: boolean; name: string }[] };
  t.equal(status.up, true);
  t.equal(status.persistent, true);
  t.same(status.processes.map((p) => [p.name, p.alive]), [['rs1', true], ['rs2', true]]);
  const pids = status.processes.map((p) => p.pid);
  const text = uvs(['lab', 'status', '--prefix', prefix]);
  t.equal(text.code, 0);
  t.match(text.out, new RegExp(`lab '${prefix}' is up: mode dr, 2 real servers`));
  t.match(text.out, /rs1\s+pid \d+\s+\S+-rs1\s+alive/);

  const all = uvs(['lab', 'status', '--all']);
  t.equal(all.code, 0);
  t.match(all.out, new RegExp(`^${prefix}\\s+up\\s+dr\\s+2/2 processes alive, persistent$`, 'm'));

  const probe = spawnSync('ip', ['netns', 'exec', `${prefix}-client`, process.execPath, PROBE_PATH, 'tcp', '198.19.0.12', '9000', '--send', 'cli'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  t.equal(probe.status, 0, probe.stderr);
  const pr = JSON.parse(probe.stdout) as { firstLine: string; received: string };
  t.match(pr.firstLine, /^rs2 198\.18\.0\.10:\d+$/);
  t.match(pr.received, /\ncli$/);

  // A second up does not clobber it.
  const again = uvs(['lab', 'up', '--prefix', prefix]);
  t.equal(again.code, 1);
  t.match(again.err, /UVS_LAB_EXISTS: lab '\w+' is already up .*uvs lab down --prefix/);

  const down = uvs(['lab', 'down', '--prefix', prefix]);
  t.equal(down.code, 0, down.err);
  t.match(down.out, new RegExp(`lab '${prefix}' is down in [0-9.]+ s: deleted 6 namespaces, stopped 2 processes`));
  t.same(labNamespaces(prefix), []);
  t.ok(await waitFor(() => pids.every((p) => !pidAlive(p)), 2000), 'real servers gone');
  t.notOk(existsSync(`/run/uvs/lab-${prefix}.json`));

  const gone = uvs(['lab', 'status', '--prefix', prefix]);
  t.equal(gone.code, 3, 'status of a lab that is not up exits 3');
  t.match(gone.out, /is not up/);
  const down2 = uvs(['lab', 'down', '--prefix', prefix]);
  t.equal(down2.code, 0);
  t.match(down2.out, /nothing to remove/);
});

t.test('errors: clear message, non-zero exit, nothing created', async (t) => {
  const mine = (): string[] => netnsList().filter((n) => n.startsWith(uniquePrefix('')));
  const before = mine();
  const cases: [string[], number, RegExp][] = [
    [['lab', 'up', '--prefix', 'waytoolongprefix'], 1, /UVS_LAB_BAD_OPTION: lab prefix 'waytoolongprefix' is too long/],
    [['lab', 'up', '--prefix', 'a-b'], 1, /invalid/],
    [['lab', 'up', '--prefix', uniquePrefix('e'), '--mode', 'bogus'], 2, /--mode must be one of nat, dr, tun, routed/],
    [['lab', 'up', '--prefix', uniquePrefix('e'), '--servers', 'lots'], 1, /--servers must be a positive integer/],
    [['lab', 'up', '--prefix', uniquePrefix('e'), '--servers', '500'], 1, /servers must be an integer in 1\.\.64/],
    [['lab', 'up', '--prefix', uniquePrefix('e'), '--vip', '10.0.0.1'], 1, /vip: 10\.0\.0\.1 is not in 198\.18\.0\.0\/24/],
    [['lab', 'up', '--frobnicate'], 2, /Unknown option '--frobnicate'/],
    [['lab', 'sideways'], 2, /unknown action 'sideways'/],
    [['lab', 'down', '--mode', 'dr'], 2, /--mode only applies to 'uvs lab up'/],
    [['lab', 'up', '--stale'], 2, /--stale only applies to 'uvs lab down'/],
  ];
  for (const [args, code, re] of cases) {
    const r = uvs(args);
    t.equal(r.code, code, args.join(' '));
    t.match(r.err, re, args.join(' '));
  }
  t.same(mine(), before, 'nothing created by failed commands');
  const help = uvs(['lab', '--help']);
  t.equal(help.code, 0);
  t.match(help.out, /uvs lab up\s+\[--prefix P\]/);
});

t.test('not root: says it needs root', { skip: spawnSync('setpriv', ['--version']).status === 0 ? false : 'setpriv not installed' }, async (t) => {
  const prefix = uniquePrefix('p');
  const r = uvs(['lab', 'up', '--prefix', prefix], { asNobody: true });
  t.equal(r.code, 1);
  t.match(r.err, /UVS_LAB_PERMISSION: the lab needs root \(CAP_NET_ADMIN and CAP_SYS_ADMIN/);
  const d = uvs(['lab', 'down', '--prefix', prefix], { asNobody: true });
  t.equal(d.code, 1);
  t.match(d.err, /needs root/);
  t.same(labNamespaces(prefix), []);
});
