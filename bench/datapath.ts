// bench/datapath: packets/s and new TCP connections/s through uvs NAT and DR with 1 and 2
// workers, next to plain kernel forwarding, on one lab, in one run: scenarios interleaved
// and repeated, medians (min–max) reported with uvs's CPU per packet and per connection.
// Numbers only: nothing here asserts a speed.
//
//   node dist/bench/datapath.js [--repeats 3] [--seconds 2]
//
// pps: UDP frames flooded by a C generator (bench/c/afp-blast.c) to the VIP
// (uvs) or to rs1 through dir1 (kernel); the servers drop them in an nftables prerouting
// rule, and delivery is read from their eth0 rx counters.
// conns/s: the lab load driver opens TCP connections (16-byte request, echoed reply, close)
// to the identify service, 64 at a time, for a fixed time; only verified ones count.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildLab, type Lab, type LabProcess } from '../src/lab/index.js';
import { cpuSeconds, dropFlood, flood, FLOOD_PORT, median, rxPackets } from './tools/measure.js';

/** CPU seconds (user + system) of a process and its threads. */
const cpu = (pid: number): number => cpuSeconds(pid).reduce((a, b) => a + b, 0);

const UVS = fileURLToPath(new URL('../src/cli/uvs.js', import.meta.url));
const LOAD = fileURLToPath(new URL('../src/lab/load.js', import.meta.url));

const { values } = parseArgs({ options: { repeats: { type: 'string', default: '3' }, seconds: { type: 'string', default: '2' }, prefix: { type: 'string', default: 'bdp' } } });
const repeats = Math.max(1, Math.min(10, Number(values.repeats)));
const seconds = Math.max(1, Math.min(20, Number(values.seconds)));

type Scenario = 'kernel' | 'nat-1' | 'nat-2' | 'dr-1' | 'dr-2';
const SCENARIOS: Scenario[] = ['kernel', 'nat-1', 'nat-2', 'dr-1', 'dr-2'];

interface Sample {
  deliveredPps: number;
  offeredPps: number;
  connsPerSec: number;
  cpuUsPerPacket: number | null;
  cpuUsPerConn: number | null;
}

async function setRouting(lab: Lab, scenario: Scenario): Promise<void> {
  const d = lab.description;
  const dr = scenario.startsWith('dr');
  const kernel = scenario === 'kernel';
  // Servers: NAT and kernel forwarding return through dir1 (the NAT-router address);
  // DR servers answer the client directly through the switch router.
  for (const s of d.servers) await lab.ip(s.name, ['route', 'replace', 'default', 'via', dr ? d.router.private.ipv4 : d.natRouter.ipv4]);
  await lab.setForwarding('dir1', kernel);
  if (kernel) {
    await lab.ip('dir1', ['addr', 'replace', `${d.natRouter.ipv4}/24`, 'dev', 'priv0']);
    await lab.ip('client', ['route', 'replace', '198.19.0.0/24', 'via', d.directors[0].public.ipv4]);
  } else {
    await lab.ip('dir1', ['addr', 'del', `${d.natRouter.ipv4}/24`, 'dev', 'priv0']).catch(() => '');
    await lab.ip('client', ['route', 'del', '198.19.0.0/24']).catch(() => '');
  }
}

async function measure(lab: Lab, scenario: Scenario, n: number): Promise<Sample> {
  const d = lab.description;
  await setRouting(lab, scenario);
  let uvs: LabProcess | undefined;
  if (scenario !== 'kernel') {
    const [method, workers] = scenario.split('-') as ['nat' | 'dr', string];
    const servers = d.servers.map((s) => ({ address: s.eth0.ipv4, method }));
    const file = join(lab.logDir, `bench-${scenario}.json`);
    writeFileSync(file, JSON.stringify({
      interfaces: ['pub0', 'priv0'],
      owned: method === 'nat' ? [d.natRouter.ipv4] : [],
      services: [
        { protocol: 'tcp', address: d.vip.ipv4, port: 9000, servers },
        { protocol: 'udp', address: d.vip.ipv4, port: FLOOD_PORT, servers },
      ],
    }));
    uvs = lab.spawn('dir1', [process.execPath, UVS, 'forward', '--config', file, '--workers', workers], { name: `uvs-${scenario}-${n}` });
    await new Promise((r) => setTimeout(r, 1500));
  }
  try {
    const target = scenario === 'kernel' ? d.servers[0]!.eth0.ipv4 : d.vip.ipv4;
    await flood(lab, target, 0.3); // warm-up: neighbours, connections
    const rx0 = await rxPackets(lab);
    const c0 = uvs ? cpu(uvs.pid) : 0;
    const b = await flood(lab, target, seconds);
    const c1 = uvs ? cpu(uvs.pid) : 0;
    await new Promise((r) => setTimeout(r, 200));
    const delivered = (await rxPackets(lab)) - rx0;

    const c2 = uvs ? cpu(uvs.pid) : 0;
    const out = await lab.exec('client', [process.execPath, LOAD, 'tcp', target, '9000', '10000000', '--size', '16', '--concurrency', '64', '--seconds', String(seconds), '--timeout', '5000'], { timeoutMs: (seconds + 30) * 1000 }).catch((e: { stdout?: string }) => e.stdout ?? '{}');
    const c3 = uvs ? cpu(uvs.pid) : 0;
    const load = JSON.parse(out.trim().split('\n').pop() || '{}') as { ok: number; ms: number };
    return {
      offeredPps: b.sent / b.seconds,
      deliveredPps: delivered / b.seconds,
      connsPerSec: load.ok / (load.ms / 1000),
      cpuUsPerPacket: uvs ? ((c1 - c0) * 1e6) / Math.max(1, delivered) : null,
      cpuUsPerConn: uvs ? ((c3 - c2) * 1e6) / Math.max(1, load.ok) : null,
    };
  } finally {
    if (uvs) await uvs.stop(10_000);
  }
}

async function main(): Promise<void> {
  const lab = await buildLab({ prefix: values.prefix, servers: 3, mode: 'nat', vipOnLo: true, replace: true });
  try {
    await dropFlood(lab);
    const samples = new Map<Scenario, Sample[]>(SCENARIOS.map((s) => [s, []]));
    for (let i = 0; i < repeats; i++) {
      for (const sc of SCENARIOS) {
        const s = await measure(lab, sc, i);
        samples.get(sc)!.push(s);
        process.stderr.write(`run ${i + 1}/${repeats} ${sc.padEnd(6)} ${(s.deliveredPps / 1e3).toFixed(0)}k pps of ${(s.offeredPps / 1e3).toFixed(0)}k offered, ${s.connsPerSec.toFixed(0)} conns/s\n`);
      }
    }
    const fmt = (xs: number[], k = 1e3, unit = 'k'): string => `${(median(xs) / k).toFixed(0)}${unit} (${(Math.min(...xs) / k).toFixed(0)}–${(Math.max(...xs) / k).toFixed(0)})`;
    const rows = SCENARIOS.map((sc) => {
      const ss = samples.get(sc)!;
      const name = sc === 'kernel' ? 'kernel forwarding (ip_forward=1, no balancing)' : `uvs ${sc.split('-')[0]!.toUpperCase()}, ${sc.split('-')[1]} worker(s)`;
      const cp = ss[0]!.cpuUsPerPacket === null ? '(in softirq)' : median(ss.map((s) => s.cpuUsPerPacket!)).toFixed(2);
      const cc = ss[0]!.cpuUsPerConn === null ? '(in softirq)' : median(ss.map((s) => s.cpuUsPerConn!)).toFixed(1);
      return `| ${name} | ${fmt(ss.map((s) => s.deliveredPps))} | ${cp} | ${fmt(ss.map((s) => s.connsPerSec), 1, '')} | ${cc} |`;
    });
    process.stdout.write(
      [
        `datapath: ${repeats} interleaved runs, ${seconds}s each; UDP 60-byte frames; TCP connections with a 16-byte request`,
        '',
        '| path | delivered pps median (min–max) | uvs CPU µs/packet | new conns/s median (min–max) | uvs CPU µs/conn |',
        '| --- | --- | --- | --- | --- |',
        ...rows,
      ].join('\n') + '\n',
    );
  } finally {
    await lab.down();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`datapath bench: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
