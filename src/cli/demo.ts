// `uvs demo` (README's main command, `npm run demo`): builds a lab — a client network, two
// directors, three real servers — starts uvsd on the active director with a keepalived.conf
// holding two virtual services over the same three servers,
//   web  198.18.0.100:80    NAT, wlc, weights 1/2/3
//   app  198.18.0.101:9000  direct routing, rr, persistent 60 s
// drives real client traffic for a few seconds with a progress line, prints what
// `uvsadm -L -n --stats` shows and how each service split its connections, and tears
// everything down (with --keep it stays up and the demo prints how to poke at it).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildLab, type Lab } from '../lab/index.js';
import type { LoadSummary } from '../lab/load.js';

const UVSD = fileURLToPath(new URL('./uvsd.js', import.meta.url));
const UVSADM = fileURLToPath(new URL('./uvsadm.js', import.meta.url));
const LOAD = fileURLToPath(new URL('../lab/load.js', import.meta.url));

const WEB = '198.18.0.100';
const APP = '198.18.0.101';
const CLIENTS = 8;

function say(line: string): void {
  process.stdout.write(line + '\n');
}

/** The demo's director configuration, in keepalived.conf's words. */
export function demoConfig(lab: Lab): string {
  const d = lab.description;
  const servers = d.servers.map((s) => s.eth0.ipv4);
  return `! uvs demo: two virtual services over the same three real servers
vrrp_instance VI_DEMO {
    state MASTER
    interface pub0
    virtual_router_id 51
    priority 150
    virtual_ipaddress {
        ${WEB}/24 dev pub0
        ${APP}/24 dev pub0
        ${d.natRouter.ipv4}/24 dev priv0
    }
}

virtual_server ${WEB} 80 {
    lb_algo wlc
    lb_kind NAT
    protocol TCP
${servers.map((a, i) => `    real_server ${a} 80 {\n        weight ${i + 1}\n    }`).join('\n')}
}

virtual_server ${APP} 9000 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    persistence_timeout 60
${servers.map((a) => `    real_server ${a} 9000 {\n        weight 1\n    }`).join('\n')}
}
`;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { prefix: { type: 'string', default: 'uvsdemo' }, workers: { type: 'string', default: '2' }, seconds: { type: 'string', default: '5' }, keep: { type: 'boolean', default: false } } });
  const t0 = Date.now();
  const seconds = Math.min(60, Math.max(1, Number(values.seconds) || 5));
  const lab = await buildLab({ prefix: values.prefix, servers: 3, mode: 'nat', clients: CLIENTS, replace: true, persistent: values.keep });
  let ok = true;
  try {
    const d = lab.description;
    const router = d.segments.private.router.ipv4;
    // Direct routing: each server also holds the app VIP on lo (ARP-silenced, as the lab sets
    // arp_ignore/arp_announce), and answers from it straight back through the router.
    for (const s of d.servers) {
      await lab.ip(s.name, ['addr', 'add', `${APP}/32`, 'dev', 'lo']);
      await lab.ip(s.name, ['rule', 'add', 'from', APP, 'lookup', '101']);
      await lab.ip(s.name, ['route', 'add', 'default', 'via', router, 'table', '101']);
    }
    say(`lab '${d.prefix}': ${CLIENTS} clients ${d.client.ipv4[0]}.. -> director ${d.directors[0].public.ipv4} -> real servers ${d.servers.map((s) => `${s.name} ${s.eth0.ipv4}`).join(', ')}`);

    const runDir = join(lab.logDir, 'run');
    const env = { ...process.env, UVS_RUN_DIR: runDir };
    const config = join(lab.logDir, 'keepalived.conf');
    writeFileSync(config, demoConfig(lab));
    const uvsd = lab.spawn('dir1', [process.execPath, UVSD, '--config', config, '--workers', values.workers, '--log', join(lab.logDir, 'uvsd.log')], { env, name: 'uvsd' });
    const uvsadm = (args: string[]): Promise<string> => lab.exec('dir1', [process.execPath, UVSADM, ...args], { env });
    for (let i = 0; i < 300; i++) {
      if ((await uvsadm(['-L', '-n']).catch(() => '')).includes('TCP')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    say(`uvsd (pid ${uvsd.pid}) runs on dir1 with ${config}: web ${WEB}:80 NAT wlc 1/2/3, app ${APP}:9000 DR rr persistent`);

    // Traffic: rounds of web GETs and app connections from every client address.
    const sources = d.client.ipv4.slice(0, CLIENTS).join(',');
    const load = async (proto: 'http' | 'tcp', host: string, port: number, count: number): Promise<LoadSummary> =>
      JSON.parse((await lab.exec('client', [process.execPath, LOAD, proto, host, String(port), String(count), '--bind', sources, '--concurrency', '16', '--max-bytes', '4096', '--timeout', '3000'], { timeoutMs: 60_000 }).catch((e: { stdout?: string }) => e.stdout ?? '{}')).trim().split('\n').pop() || '{}') as LoadSummary;
    const total = { web: { ok: 0, failed: 0, servers: {} as Record<string, number> }, app: { ok: 0, failed: 0, servers: {} as Record<string, number>, bySource: {} as Record<string, Record<string, number>> } };
    const until = Date.now() + seconds * 1000;
    while (Date.now() < until) {
      const [w, a] = await Promise.all([load('http', WEB, 80, 150), load('tcp', APP, 9000, 60)]);
      for (const [sum, r] of [[total.web, w], [total.app, a]] as const) {
        sum.ok += r.ok ?? 0;
        sum.failed += r.failed ?? 0;
        for (const [k, v] of Object.entries(r.servers ?? {})) sum.servers[k] = (sum.servers[k] ?? 0) + v;
      }
      for (const [src, per] of Object.entries(a.bySource ?? {})) for (const [k, v] of Object.entries(per)) (total.app.bySource[src] ??= {})[k] = ((total.app.bySource[src] ??= {})[k] ?? 0) + v;
      process.stdout.write(`\r  traffic: web ${total.web.ok} requests, app ${total.app.ok} connections, ${total.web.failed + total.app.failed} failed, ${Math.max(0, Math.ceil((until - Date.now()) / 1000))} s left   `);
    }
    process.stdout.write('\n');
    ok = total.web.failed + total.app.failed === 0 && total.web.ok > 0 && total.app.ok > 0;

    say('\n$ uvsadm -L -n --stats');
    process.stdout.write(await uvsadm(['-L', '-n', '--stats']));
    const split = (s: Record<string, number>): string => Object.keys(s).sort().map((k) => `${k} ${s[k]}`).join(', ');
    const share = (s: Record<string, number>): string => Object.keys(s).sort().map((k) => `${k} ${((100 * s[k]!) / Object.values(s).reduce((a, b) => a + b, 0)).toFixed(0)}%`).join(', ');
    say(`\nweb (NAT, wlc 1/2/3): ${total.web.ok} GETs verified (the server saw the client's own address): ${split(total.web.servers)} (${share(total.web.servers)})`);
    const sticky = Object.values(total.app.bySource).every((per) => Object.keys(per).length === 1);
    say(`app (DR, rr, persistent): ${total.app.ok} connections verified: ${split(total.app.servers)}; each of the ${Object.keys(total.app.bySource).length} clients stayed on one server: ${sticky ? 'yes' : 'NO'}`);
    for (const [src, per] of Object.entries(total.app.bySource)) say(`  ${src} -> ${Object.keys(per).join(', ')}`);
    ok &&= sticky;
    say(ok ? `demo: every request went through uvs and came back intact (${((Date.now() - t0) / 1000).toFixed(1)} s)` : 'demo: FAILED');

    if (values.keep) {
      say(`\nThe lab stays up. Try:
  ip netns exec ${d.directors[0].ns} env UVS_RUN_DIR=${runDir} node ${UVSADM} -L -n --stats
  ip netns exec ${d.client.ns} node ${LOAD} http ${WEB} 80 20
  ip netns exec ${d.client.ns} node ${LOAD} tcp ${APP} 9000 20
  node ${fileURLToPath(new URL('./uvs.js', import.meta.url))} lab down ${d.prefix}      (removes it all)`);
    }
    return ok ? 0 : 1;
  } finally {
    if (!values.keep) await lab.down();
  }
}
