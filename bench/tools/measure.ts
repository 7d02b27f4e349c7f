// What the lab benchmarks share: medians, a process's CPU time, packets delivered to the
// real servers, the servers' drop rule for the flood, and the flood itself (the C
// generator, bench/c/afp-blast.c, so the generator is not what limits the path under test).

import { readFileSync } from 'node:fs';
import type { Lab } from '../../src/lab/index.js';
import { cTools } from './c-tools.js';

/** UDP port of the flood; the servers drop it before any socket lookup (no replies, no ICMP). */
export const FLOOD_PORT = 9999;

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** [user, system] CPU seconds of a process, all its threads (USER_HZ = 100). */
export function cpuSeconds(pid: number): [number, number] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [Number(f[11]) / 100, Number(f[12]) / 100];
}

/** Packets received on the real servers' eth0, summed. */
export async function rxPackets(lab: Lab, servers = lab.description.servers.map((s) => s.name)): Promise<number> {
  let n = 0;
  for (const name of servers) {
    const j = JSON.parse(await lab.ip(name, ['-s', '-j', 'link', 'show', 'eth0'])) as { stats64: { rx: { packets: number } } }[];
    n += j[0]!.stats64.rx.packets;
  }
  return n;
}

/** Makes every real server drop the flood in prerouting. */
export async function dropFlood(lab: Lab): Promise<void> {
  for (const s of lab.description.servers) {
    await lab.exec(s.name, ['nft', '-f', '-'], { input: `table ip uvsbench {\n chain pre {\n  type filter hook prerouting priority -300;\n  udp dport ${FLOOD_PORT} drop\n }\n}\n` });
  }
}

/** Floods 60-byte UDP frames from the client to `target` through dir1 for `secs` seconds (at `rate` frames/s; flat out without). */
export async function flood(lab: Lab, target: string, secs: number, rate?: number): Promise<{ sent: number; seconds: number }> {
  const d = lab.description;
  const out = await lab.exec(
    'client',
    [cTools().blast, 'eth0', d.client.eth0.mac, d.directors[0].public.mac, d.client.ipv4[0]!, target, String(FLOOD_PORT), String(secs), '100000000', ...(rate !== undefined ? [String(Math.round(rate))] : [])],
    { timeoutMs: (secs + 10) * 1000 },
  );
  return JSON.parse(out.trim()) as { sent: number; seconds: number };
}
