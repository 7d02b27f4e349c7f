// `uvs demo`: builds a lab, runs uvs between the client and the real servers, pushes real
// traffic through it and shows what happened, then tears everything down.
//
// Today the director runs the frame-I/O forwarder (AF_PACKET rings, TypeScript rewrite)
// with kernel forwarding off; the balancing datapath replaces it as its issues land.

import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildLab, type Lab } from '../lab/index.js';

const UVS = fileURLToPath(new URL('./uvs.js', import.meta.url));

const ECHO_CHECK = `
const net = require('node:net'), crypto = require('node:crypto');
const [host, port, size] = process.argv.slice(1);
const data = crypto.randomBytes(Number(size));
const want = crypto.createHash('sha256').update(data).digest('hex');
const got = crypto.createHash('sha256'); let n = 0; const t0 = Date.now();
const s = net.connect({ host, port: Number(port), allowHalfOpen: true }, () => s.end(data));
s.on('data', (d) => { got.update(d); n += d.length; });
s.on('end', () => console.log(JSON.stringify({ sent: data.length, received: n, intact: got.digest('hex') === want, ms: Date.now() - t0 })));
s.on('error', (e) => { console.log(JSON.stringify({ error: e.code || e.message })); process.exitCode = 1; });
`;

function say(line: string): void {
  process.stdout.write(line + '\n');
}

async function traffic(lab: Lab): Promise<boolean> {
  let ok = true;
  for (const server of lab.description.servers) {
    const addr = server.eth0.ipv4;
    const id = await lab.probe('client', { proto: 'tcp', host: addr, port: 9000, send: 'hello', timeoutMs: 3000 });
    const http = await lab.probe('client', { proto: 'http', host: addr, timeoutMs: 3000 });
    const udp = await lab.probe('client', { proto: 'udp', host: addr, port: 9000, send: 'ping', timeoutMs: 3000 });
    const good = id.ok && id.firstLine?.startsWith(server.name + ' ') && http.status === 200 && http.server === server.name && udp.ok;
    ok &&= !!good;
    say(`  ${good ? 'ok  ' : 'FAIL'} ${server.name} (${addr}): tcp identify "${id.firstLine ?? id.error}", http ${http.status ?? http.error} X-Real-Server ${http.server ?? '-'}, udp "${udp.received?.trim() ?? udp.error}"`);
  }
  const addr = lab.description.servers[0]!.eth0.ipv4;
  const out = await lab.exec('client', [process.execPath, '-e', ECHO_CHECK, addr, '7', String(32 * 1024 * 1024)], { timeoutMs: 60_000 });
  const bulk = JSON.parse(out.trim()) as { sent: number; received: number; intact: boolean; ms: number; error?: string };
  ok &&= bulk.intact;
  say(`  ${bulk.intact ? 'ok  ' : 'FAIL'} 32 MiB of random bytes echoed by ${lab.description.servers[0]!.name}: ${bulk.received} bytes back, sha256 ${bulk.intact ? 'matches' : 'DIFFERS'} (${((bulk.sent * 2 * 8) / (bulk.ms / 1000) / 1e9).toFixed(2)} Gbit/s both ways)`);
  return ok;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { prefix: { type: 'string', default: 'uvsdemo' }, servers: { type: 'string', default: '3' } } });
  say('uvs demo: client -> dir1 (uvs, kernel forwarding off) -> real servers');
  const lab = await buildLab({ prefix: values.prefix, servers: Number(values.servers), mode: 'routed', replace: true });
  try {
    const d = lab.description;
    say(`lab '${d.prefix}': client ${d.client.ipv4[0]}, dir1 ${d.directors[0].public.ipv4} / ${d.directors[0].private.ipv4}, servers ${d.servers.map((s) => s.eth0.ipv4).join(' ')}`);
    await lab.setForwarding('dir1', false);
    const before = await lab.probe('client', { proto: 'tcp', host: d.servers[0]!.eth0.ipv4, port: 9000, send: 'x', timeoutMs: 500 });
    say(`without uvs: ${before.ok ? 'reachable (unexpected!)' : `unreachable (${before.error})`} — the director's kernel does not forward`);
    const fwd = lab.spawn('dir1', [process.execPath, UVS, 'router', '--if', 'pub0', '--if', 'priv0'], { stdio: 'pipe', name: 'router' });
    let stdout = '';
    fwd.child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    await new Promise((r) => setTimeout(r, 300));
    say('with uvs router on dir1:');
    const ok = await traffic(lab);
    await fwd.stop();
    const stats = JSON.parse(stdout.trim().split('\n').pop() || '{}') as Record<string, unknown>;
    say(`uvs counters: rx ${stats.rxFrames} frames, tx ${stats.txFrames}, ARP requests ${stats.arpRequestsSent}, malformed ${stats.malformed}, drops ${JSON.stringify(stats.dropsByReason)}`);
    say(ok ? 'demo: all traffic went through uvs intact' : 'demo: FAILED');
    return ok ? 0 : 1;
  } finally {
    await lab.down();
  }
}
