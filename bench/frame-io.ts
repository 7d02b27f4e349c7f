// bench/frame-io: packets/s and TCP throughput through the uvs router (AF_PACKET rings in
// TypeScript, one thread) side by side with the same router written in plain C
// (bench/c/afp-router.c) and with plain kernel forwarding, on the same lab, in the same
// run, interleaved and repeated; medians reported. Numbers only: nothing here asserts a
// speed.
//
//   node dist/bench/frame-io.js [--repeats 3] [--seconds 3]
//
// Load: UDP frames flooded by a C generator (bench/c/afp-blast.c, faster than any router
// under test) from the client to rs1 via dir1; rs1 drops them in an nftables prerouting
// rule (no replies, no ICMP), and what arrived is read from rs1's eth0 rx counter. TCP:
// iperf3 client -> server through dir1 (not for the C router, which forwards one way).

import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { buildLab, type Lab, type LabProcess } from '../src/lab/index.js';
import { cTools } from './tools/c-tools.js';
import { cpuSeconds, dropFlood, flood, median, rxPackets } from './tools/measure.js';

const UVS = fileURLToPath(new URL('../src/cli/uvs.js', import.meta.url));


const { values } = parseArgs({
  options: {
    repeats: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '3' },
    prefix: { type: 'string', default: 'bfio' },
  },
});
const repeats = Math.max(1, Math.min(10, Number(values.repeats)));
const seconds = Math.max(1, Math.min(30, Number(values.seconds)));

interface Sample {
  offeredPps: number;
  deliveredPps: number;
  /** Forwarder process CPU per delivered packet: user (our TypeScript) and system (syscalls, and the kernel's TX work done inside them). */
  userUsPerPacket: number | null;
  sysUsPerPacket: number | null;
  tcpGbps: number | null;
}

type Mode = 'kernel' | 'c' | 'uvs';
const MODES: Mode[] = ['kernel', 'c', 'uvs'];

async function iperf(lab: Lab, secs: number): Promise<number> {
  const out = await lab.exec('client', ['iperf3', '-c', '198.19.0.11', '-t', String(secs), '-J'], { timeoutMs: (secs + 15) * 1000 });
  return (JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second / 1e9;
}

async function measure(lab: Lab, mode: Mode): Promise<Sample> {
  const d = lab.description;
  let fwd: LabProcess | undefined;
  if (mode === 'uvs') {
    await lab.setForwarding('dir1', false);
    fwd = lab.spawn('dir1', [process.execPath, UVS, 'router', '--if', 'pub0', '--if', 'priv0'], { name: 'router' });
    await new Promise((r) => setTimeout(r, 400));
  } else if (mode === 'c') {
    await lab.setForwarding('dir1', false);
    const args = [cTools().router, 'pub0', 'priv0', d.directors[0].private.mac, d.servers[0]!.eth0.mac, String(seconds + 3)];
    fwd = lab.spawn('dir1', args, { name: 'c-router' });
    await new Promise((r) => setTimeout(r, 200));
  } else {
    await lab.setForwarding('dir1', true);
  }
  try {
    await flood(lab, '198.19.0.11', 0.3); // warm-up: neighbours resolved, caches hot
    const rx0 = await rxPackets(lab);
    const cpu0 = fwd ? cpuSeconds(fwd.pid) : [0, 0];
    const r = await flood(lab, '198.19.0.11', seconds);
    const cpu1 = fwd ? cpuSeconds(fwd.pid) : [0, 0];
    await new Promise((res) => setTimeout(res, 200));
    const delivered = (await rxPackets(lab)) - rx0;
    const tcpGbps = mode === 'c' ? null : await iperf(lab, Math.min(3, seconds));
    return {
      offeredPps: r.sent / r.seconds,
      deliveredPps: delivered / r.seconds,
      userUsPerPacket: fwd ? ((cpu1[0] - cpu0[0]) * 1e6) / Math.max(1, delivered) : null,
      sysUsPerPacket: fwd ? ((cpu1[1] - cpu0[1]) * 1e6) / Math.max(1, delivered) : null,
      tcpGbps,
    };
  } finally {
    if (fwd) await fwd.stop();
    await lab.setForwarding('dir1', false);
  }
}

async function main(): Promise<void> {
  const lab = await buildLab({ prefix: values.prefix, servers: 1, mode: 'routed', replace: true });
  try {
    // rs1 drops the flood before any socket lookup: no ICMP unreachable flows back.
    await dropFlood(lab);
    lab.spawn('rs1', ['iperf3', '-s'], { name: 'iperf3' });
    await new Promise((r) => setTimeout(r, 300));
    const samples: Record<Mode, Sample[]> = { kernel: [], c: [], uvs: [] };
    for (let i = 0; i < repeats; i++) {
      for (const mode of MODES) {
        const s = await measure(lab, mode);
        samples[mode].push(s);
        process.stderr.write(`run ${i + 1}/${repeats} ${mode.padEnd(6)} offered ${(s.offeredPps / 1e3).toFixed(0)}k pps, delivered ${(s.deliveredPps / 1e3).toFixed(0)}k pps${s.tcpGbps === null ? '' : `, tcp ${s.tcpGbps.toFixed(2)} Gbit/s`}\n`);
      }
    }
    const cpu = (() => {
      try {
        return execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], { encoding: 'utf8' }).trim();
      } catch {
        return 'unknown';
      }
    })();
    const row = (name: string, ss: Sample[]): string => {
      const d = ss.map((s) => s.deliveredPps);
      const cpuUs =
        ss[0]!.userUsPerPacket === null
          ? '(in softirq)'
          : `${median(ss.map((s) => s.userUsPerPacket!)).toFixed(2)} user + ${median(ss.map((s) => s.sysUsPerPacket!)).toFixed(2)} sys`;
      const tcp = ss[0]!.tcpGbps === null ? '—' : median(ss.map((s) => s.tcpGbps!)).toFixed(2);
      return `| ${name} | ${(median(ss.map((s) => s.offeredPps)) / 1e3).toFixed(0)}k | ${(median(d) / 1e3).toFixed(0)}k (${(Math.min(...d) / 1e3).toFixed(0)}k–${(Math.max(...d) / 1e3).toFixed(0)}k) | ${cpuUs} | ${tcp} |`;
    };
    const med = (m: Mode): number => median(samples[m].map((s) => s.deliveredPps));
    const lines = [
      `frame-io: ${repeats} interleaved runs of ${seconds}s, 60-byte UDP frames, ${cpu}, ${(await import('node:os')).cpus().length} cores`,
      '',
      '| path | offered pps | delivered pps median (min–max) | forwarder CPU µs/packet | TCP Gbit/s (iperf3) |',
      '| --- | --- | --- | --- | --- |',
      row('kernel forwarding (ip_forward=1)', samples.kernel),
      row('C router (bench/c/afp-router.c, AF_PACKET rings, 1 thread)', samples.c),
      row('uvs router (AF_PACKET rings, TypeScript, 1 thread)', samples.uvs),
      '',
      `uvs / C delivered pps: ${(med('uvs') / med('c')).toFixed(2)};  uvs / kernel: ${(med('uvs') / med('kernel')).toFixed(2)}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await lab.down();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`frame-io bench: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
