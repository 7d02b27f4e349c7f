// The listing and error session: one ipvsadm session (adds of every kind, duplicate and
// missing objects, usage and popt errors, each listing view, -S -n, timeouts, the sync
// daemon) run by Debian's ipvsadm against kernel IPVS in the guest, and by the real uvsadm
// against a real uvsd in a lab director namespace on the host; stdout, stderr and the exit
// code of every command compared byte for byte. No traffic flows, so counters and rates
// are zero on both sides and need no normalising.

import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { buildLab } from '../../../src/lab/index.js';
import { uniquePrefix } from '../../../src/lab/testing.js';
import { startUvsd, UVSADM } from '../../control/fixtures/uvsd.js';
import { diffObservations } from '../compare.js';
import { transcript, type ScenarioResult } from '../run.js';
import type { Observation } from './script.js';
import { NET } from './topology.js';

export interface ListingScenario {
  name: string;
  title: string;
  /** Command lines (ipvsadm's argv without the program name). */
  commands: string[][];
  /** Steps where a documented difference (deliberate.ts) is expected: each side's own expected observation lines. */
  deliberate: Map<number, { id: string; kernel: string[]; uvs: string[] }>;
}

const V = NET.vip;
const [R1, R2, R3] = NET.servers;

export function listingScenario(): ListingScenario {
  const lines = [
    '-C',
    '-L -n',
    `-A -t ${V}:80 -s rr`,
    `-A -t ${V}:80 -s rr`,
    `-a -t ${V}:80 -r ${R1}:80 -m -w 3`,
    `-a -t ${V}:80 -r ${R2}:8080 -g -w 1 -x 100 -y 50`,
    `-a -t ${V}:80 -r ${R3} -i -w 0`,
    `-a -t ${V}:80 -r ${R1}:80 -m`,
    `-e -t ${V}:80 -r 198.19.0.99:80 -m`,
    `-d -t ${V}:80 -r 198.19.0.99`,
    `-a -t ${V}:81 -r ${R1}:80 -m`,
    `-A -u ${V}:53 -s wlc -p 600 -M 255.255.255.0`,
    `-a -u ${V}:53 -r ${R1}:53 -m`,
    '-A -f 7 -s sh -b sh-port,sh-fallback',
    `-a -f 7 -r ${R2} -g -w 5`,
    `-A -t ${V}:443 -s mh -b mh-port -p`,
    `-a -t ${V}:443 -r ${R1} -m -w 2 -x 10`,
    `-A -t ${V}:444 -s nosuch`,
    `-A -t ${V}:445 -s rr --pe sip`,
    `-A -u ${V}:446 -s rr -p 60 --pe sip`,
    `-E -t ${V}:80 -s wrr`,
    `-E -t ${V}:99 -s wrr`,
    '-L -n',
    '-L -n --stats',
    '-L -n --rate',
    '-L -n --thresholds',
    '-L -n --persistent-conn',
    '-L -n --stats --exact',
    `-L -n -t ${V}:80`,
    `-L -n -t ${V}:81`,
    '-L -n -f 7',
    '-S -n',
    '-L --timeout',
    '--set 100 20 50',
    '-L --timeout',
    '--set 0 30 0',
    '-L --timeout',
    '--set 900 120 300',
    '-Z',
    `-Z -t ${V}:99`,
    `-D -t ${V}:99`,
    `-a -t ${V}:80 -r 0.0.0.0:80 -m`,
    `-a -t ${V}:80 -r 224.0.0.1:80 -m`,
    `-A -t ${V} -s rr`,
    `-A -t ${V}:80 -x 5`,
    `-a -t ${V}:80 -r ${R1}:80 -w -1`,
    `-a -t ${V}:80 -r ${R1}:80 -x 10 -y 20`,
    '--bogus',
    '-A -t 300.1.1.1:80',
    '-L -n -c',
    '--start-daemon master --mcast-interface lo',
    '--start-daemon master --mcast-interface lo',
    '-L --daemon',
    '--stop-daemon master',
    '-L --daemon',
    `-a -t ${V}:80 -r ${NET.servers[3]}:80 -m -w 70000`,
    `-d -t ${V}:80 -r ${NET.servers[3]}:80`,
    `-d -t ${V}:80 -r ${R2}:8080`,
    `-D -t ${V}:443`,
    `-D -u ${V}:446`,
    '-L -n',
    '-S -n',
    '-v',
    '-C',
    '-L -n',
  ];
  const heavy = lines.findIndex((l) => l.includes('-w 70000'));
  const deliberate = new Map([
    [heavy, { id: 'D2', kernel: ['exit 0', 'out: ', 'err: '], uvs: ['exit 2', 'out: ', 'err: illegal weight specified', 'err: '] }],
    [heavy + 1, { id: 'D2', kernel: ['exit 0', 'out: ', 'err: '], uvs: ['exit 255', 'out: ', 'err: No such destination', 'err: '] }],
  ]);
  return { name: 'listings-session', title: 'ipvsadm session: every listing view, -S -n, timeouts, sync daemon, and the kernel and usage errors (stdout, stderr, exit code)', commands: lines.map((l) => l.split(' ')), deliberate };
}

/** The guest's lines; ipvsadm found on PATH, since its messages name argv[0] (`Try \`ipvsadm -h'`). */
export function listingGuestScript(sc: ListingScenario): string {
  const lines = [`mkdir -p /out/${sc.name}`];
  sc.commands.forEach((argv, i) => {
    const o = `/out/${sc.name}/${i}`;
    lines.push(`ipvsadm ${argv.join(' ')} >${o}.out 2>${o}.err; echo $? >${o}.rc`);
  });
  return lines.join('\n') + '\n';
}

function observation(i: number, argv: string[], rc: string, out: string, err: string): Observation {
  const lines = [`exit ${rc.trim()}`, ...out.split('\n').map((l) => `out: ${l}`), ...err.split('\n').map((l) => `err: ${l}`)];
  return { step: i, label: `ipvsadm ${argv.join(' ')}`, lines };
}

/** The guest's results and the same session through uvsadm → uvsd, compared. */
export async function runListingOnUvs(sc: ListingScenario, guestFiles: Map<string, string>): Promise<ScenarioResult> {
  const kernel = sc.commands.map((argv, i) => {
    const f = (ext: string): string => guestFiles.get(`${sc.name}/${i}.${ext}`) ?? '';
    return observation(i, argv, f('rc'), f('out'), f('err'));
  });
  const lab = await buildLab({ prefix: uniquePrefix('cf'), servers: 1, startServers: false });
  const uvs: Observation[] = [];
  try {
    const uvsd = await startUvsd(lab, undefined, ['--interfaces', 'pub0,priv0']);
    try {
      const dir = join(lab.logDir, 'conformance');
      mkdirSync(dir, { recursive: true });
      // uvsadm names itself after its script (messages say "ipvsadm: ..."): run it through a symlink called ipvsadm.
      const ipvsadm = join(dir, 'ipvsadm');
      symlinkSync(UVSADM, ipvsadm);
      for (const [i, argv] of sc.commands.entries()) {
        const o = join(dir, String(i));
        const line = `"${process.execPath}" "${ipvsadm}" "$@" >${o}.out 2>${o}.err; echo $? >${o}.rc`;
        await lab.exec('dir1', ['bash', '-c', `(${line})`, 'ipvsadm', ...argv], { env: uvsd.env, timeoutMs: 60_000 });
        uvs.push(observation(i, argv, readFileSync(`${o}.rc`, 'utf8'), readFileSync(`${o}.out`, 'utf8'), readFileSync(`${o}.err`, 'utf8')));
      }
    } finally {
      await uvsd.stop();
    }
  } finally {
    await lab.down();
  }
  const transcripts = { kernel: transcript(kernel), uvs: transcript(uvs) };
  // A documented difference: each side must show its own documented behaviour, then the step counts as agreeing.
  for (const [i, d] of sc.deliberate) {
    const asDocumented = (o: Observation | undefined, want: string[]): boolean => o !== undefined && o.lines.join('\n') === want.join('\n');
    if (asDocumented(kernel[i], d.kernel) && asDocumented(uvs[i], d.uvs)) kernel[i] = uvs[i] = { ...kernel[i]!, lines: [`(deliberate difference ${d.id}, each side as documented)`] };
  }
  const diff = diffObservations(kernel, uvs, 8);
  return { name: sc.name, group: 'listings', title: sc.title, same: diff === '', diff, steps: sc.commands.length, transcripts };
}
