// `uvs demo`: builds a lab, runs uvs on the active director with a NAT virtual service,
// pushes real traffic from the client through it to three real servers, shows what
// happened (who answered, what uvs counted), then tears everything down.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildLab } from '../lab/index.js';
import type { BulkResult, LoadSummary } from '../lab/load.js';

const UVS = fileURLToPath(new URL('./uvs.js', import.meta.url));
const LOAD = fileURLToPath(new URL('../lab/load.js', import.meta.url));

function say(line: string): void {
  process.stdout.write(line + '\n');
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { prefix: { type: 'string', default: 'uvsdemo' }, workers: { type: 'string', default: '2' } } });
  const lab = await buildLab({ prefix: values.prefix, servers: 3, mode: 'nat', replace: true });
  try {
    const d = lab.description;
    const vip = d.vip.ipv4;
    say(`lab '${d.prefix}': client ${d.client.ipv4[0]} -> VIP ${vip} on dir1 -> real servers ${d.servers.map((s) => `${s.name} ${s.eth0.ipv4}`).join(', ')}`);
    const before = await lab.probe('client', { proto: 'tcp', host: vip, port: 9000, send: 'x', timeoutMs: 500 });
    say(`before uvs: VIP ${before.ok ? 'answers (unexpected!)' : 'does not answer'}`);

    const servers = d.servers.map((s) => ({ address: s.eth0.ipv4, method: 'nat' }));
    const config = {
      interfaces: ['pub0', 'priv0'],
      owned: [d.natRouter.ipv4],
      services: [9000, 9001, 80].map((port) => ({ protocol: 'tcp', address: vip, port, scheduler: 'rr', servers })).concat([{ protocol: 'udp', address: vip, port: 9000, scheduler: 'rr', servers }]),
    };
    const file = join(lab.logDir, 'demo-forward.json');
    writeFileSync(file, JSON.stringify(config, null, 2));
    const uvs = lab.spawn('dir1', [process.execPath, UVS, 'forward', '--config', file, '--workers', values.workers], { stdio: 'pipe', name: 'uvs-forward' });
    let out = '';
    let err = '';
    uvs.child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    uvs.child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
    for (let i = 0; i < 300 && !/worker\(s\)/.test(err); i++) await new Promise((r) => setTimeout(r, 20));
    say(`uvs: ${err.trim()} (NAT, rr; kernel isolation table installed)`);

    let ok = true;
    for (let i = 0; i < 4; i++) {
      const p = await lab.probe('client', { proto: 'tcp', host: vip, port: 9000, send: 'hello', timeoutMs: 3000 });
      ok &&= p.ok;
      say(`  tcp ${vip}:9000 -> ${p.firstLine ?? p.error}`);
    }
    const http = await lab.probe('client', { proto: 'http', host: vip, timeoutMs: 3000 });
    say(`  http://${vip}/ -> ${http.status} X-Real-Server ${http.server}`);
    const udp = await lab.probe('client', { proto: 'udp', host: vip, port: 9000, send: 'ping', timeoutMs: 3000 });
    say(`  udp ${vip}:9000 -> "${udp.received?.trim() ?? udp.error}"`);
    ok &&= http.status === 200 && udp.ok;

    const run = async (args: string[]): Promise<string> => (await lab.exec('client', [process.execPath, LOAD, ...args], { timeoutMs: 120_000 }).catch((e: { stdout?: string }) => e.stdout ?? '{}')).trim();
    const load = JSON.parse(await run(['tcp', vip, '9000', '1000', '--concurrency', '32'])) as LoadSummary;
    ok &&= load.ok === 1000;
    say(`  1000 TCP connections with random payloads: ${load.ok} verified (echo SHA-256, server saw the client's address), ${load.failed} failed, spread ${JSON.stringify(load.servers)}, ${(load.bytes / 1e6).toFixed(1)} MB in ${load.ms} ms`);
    const up = JSON.parse(await run(['upload', vip, '9001', String(64 << 20)])) as BulkResult;
    ok &&= up.ok;
    say(`  64 MiB upload to ${up.server}: ${up.ok ? 'SHA-256 equal' : up.error} (${up.gbps.toFixed(2)} Gbit/s)`);

    await uvs.stop(10_000);
    const stats = JSON.parse(out.trim().split('\n').pop() || '{}') as Record<string, unknown>;
    say(`uvs counted: ${stats.rxFrames} frames in, ${stats.txFrames} out, ${stats.newConnections} connections, ${stats.arpRepliesSent} ARP replies for the VIP/gateway, malformed ${stats.malformed}`);
    for (const [k, v] of Object.entries((stats.servers ?? {}) as Record<string, Record<string, number>>)) if (k.includes(':9000 ') && k.startsWith('tcp')) say(`  ${k}: ${v.conns ?? 0} conns, ${v.inPkts ?? 0} pkts in, ${v.outPkts ?? 0} out`);
    say(ok ? 'demo: every byte went through uvs intact' : 'demo: FAILED');
    return ok ? 0 : 1;
  } finally {
    await lab.down();
  }
}
