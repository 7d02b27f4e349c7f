// `uvs lab up|down|status`: the network-namespace lab from the command line (docs/lab.md).
// A lab brought up here is persistent: it outlives this command until `uvs lab down`.

import { parseArgs } from 'node:util';
import { UvsError } from '../errors.js';
import { buildLab, labDown, labStatus, labSweep, listLabs, PROBE_PATH } from '../lab/lab.js';
import { DEFAULT_PREFIX, validatePrefix } from '../lab/plan.js';
import { LAB_MODES, type LabDescription, type LabMode, type LabStatus } from '../lab/types.js';

const USAGE = `usage:
  uvs lab up     [--prefix P] [--servers N] [--mode nat|dr|tun|routed] [--vip A] [--vip6 A]
                 [--clients N] [--no-offloads] [--no-servers] [--replace] [--json]
  uvs lab status [--prefix P | --all] [--json]
  uvs lab down   [--prefix P | --stale] [--json]

Builds (or removes) the network-namespace lab: a switch/router namespace P-sw with the
public (198.18.0.0/24, fd00:18::/64) and private (198.19.0.0/24, fd00:19::/64) segments,
a client P-client, two directors P-dir1 (active) and P-dir2 (backup), and real servers
P-rs1..N running echo (7), identify (9000) and HTTP (80). Default prefix '${DEFAULT_PREFIX}'.
--all: every lab with a state file in /run/uvs. --stale: remove every lab whose owner
process died without cleaning up (a killed test run); live and persistent labs stay.
Needs root. See docs/lab.md.
`;

function fail(message: string, code = 2): number {
  process.stderr.write(`uvs lab: ${message}\n`);
  return code;
}

function intArg(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UvsError('UVS_LAB_BAD_OPTION', `--${name} must be a positive integer, got '${v}'`);
  return Number(v);
}

export async function run(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || action === '-h' || action === '--help' || action === 'help') {
    process.stdout.write(USAGE);
    return action === undefined ? 2 : 0;
  }
  if (action !== 'up' && action !== 'down' && action !== 'status') return fail(`unknown action '${action}'\n${USAGE}`);

  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: false,
      options: {
        prefix: { type: 'string', short: 'p', default: DEFAULT_PREFIX },
        servers: { type: 'string', short: 'n' },
        mode: { type: 'string', short: 'm' },
        vip: { type: 'string' },
        vip6: { type: 'string' },
        clients: { type: 'string' },
        'no-offloads': { type: 'boolean', default: false },
        'no-servers': { type: 'boolean', default: false },
        replace: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        all: { type: 'boolean', default: false },
        stale: { type: 'boolean', default: false },
      },
    }));
  } catch (e) {
    return fail(`${(e as Error).message}\n${USAGE}`);
  }
  const json = values['json'] === true;

  try {
    const prefix = validatePrefix(values['prefix']);
    if (action !== 'up') {
      for (const k of ['servers', 'mode', 'vip', 'vip6', 'clients'] as const) {
        if (values[k] !== undefined) return fail(`--${k} only applies to 'uvs lab up'`);
      }
    }
    if (values['all'] === true && action !== 'status') return fail(`--all only applies to 'uvs lab status'`);
    if (values['stale'] === true && action !== 'down') return fail(`--stale only applies to 'uvs lab down'`);
    if (action === 'up') {
      const mode = values['mode'] as string | undefined;
      if (mode !== undefined && !LAB_MODES.includes(mode as LabMode)) return fail(`--mode must be one of ${LAB_MODES.join(', ')}, got '${mode}'`);
      const t0 = performance.now();
      const lab = await buildLab({
        prefix,
        mode: (mode as LabMode | undefined) ?? 'nat',
        servers: intArg('servers', values['servers'] as string | undefined),
        clients: intArg('clients', values['clients'] as string | undefined),
        vip: values['vip'] as string | undefined,
        vip6: values['vip6'] as string | undefined,
        offloads: values['no-offloads'] !== true,
        startServers: values['no-servers'] !== true,
        replace: values['replace'] === true,
        persistent: true,
      });
      const ms = performance.now() - t0;
      if (json) process.stdout.write(JSON.stringify({ ...lab.description, stateFile: lab.statePath, processes: lab.processes(), upMs: Math.round(ms) }, null, 2) + '\n');
      else process.stdout.write(summary(lab.description, lab.statePath, lab.processes().map((p) => `${p.name} pid ${p.pid} (log ${p.log})`), ms));
      return 0;
    }
    if (action === 'status' && values['all'] === true) {
      const all = await Promise.all(listLabs().map((p) => labStatus(p)));
      if (json) process.stdout.write(JSON.stringify(all, null, 2) + '\n');
      else if (all.length === 0) process.stdout.write('no labs recorded\n');
      else {
        for (const st of all) {
          const state = st.up ? 'up' : st.building ? 'building' : 'DEGRADED';
          const owner = st.persistent ? 'persistent' : `owner pid ${st.owner?.pid} ${st.owner?.alive ? 'alive' : 'GONE (stale: uvs lab down --stale)'}`;
          const procs = `${st.processes.filter((p) => p.alive).length}/${st.processes.length} processes alive`;
          process.stdout.write(`${st.prefix.padEnd(13)} ${state.padEnd(9)} ${st.description?.mode ?? '-'}  ${procs}, ${owner}\n`);
        }
      }
      return 0;
    }
    if (action === 'status') {
      const st = await labStatus(prefix);
      if (json) process.stdout.write(JSON.stringify(st, null, 2) + '\n');
      else process.stdout.write(statusText(st));
      return st.up ? 0 : 3;
    }
    if (values['stale'] === true) {
      const swept = await labSweep();
      if (json) process.stdout.write(JSON.stringify(swept, null, 2) + '\n');
      else if (swept.length === 0) process.stdout.write('no stale labs\n');
      else for (const r of swept) process.stdout.write(`removed stale lab '${r.prefix}': ${r.namespaces.length} namespaces, ${r.killed.length} processes\n`);
      return 0;
    }
    // down
    const t0 = performance.now();
    const r = await labDown(prefix);
    const ms = performance.now() - t0;
    if (json) process.stdout.write(JSON.stringify({ ...r, downMs: Math.round(ms) }, null, 2) + '\n');
    else if (r.namespaces.length === 0 && r.killed.length === 0) process.stdout.write(`lab '${prefix}': nothing to remove\n`);
    else {
      process.stdout.write(
        `lab '${prefix}' is down in ${(ms / 1000).toFixed(2)} s: deleted ${r.namespaces.length} namespaces` +
          (r.killed.length ? `, stopped ${r.killed.length} processes (${r.killed.join(', ')})` : '') +
          (r.forced.length ? `, ${r.forced.length} needed SIGKILL` : '') +
          '\n',
      );
    }
    return 0;
  } catch (e) {
    const err = e as { code?: string; message?: string };
    return fail(`${err.code ? err.code + ': ' : ''}${err.message ?? String(e)}`, 1);
  }
}

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => '  ' + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

export function summary(d: LabDescription, stateFile: string, procs: string[], ms: number): string {
  const p = d.prefix;
  const out: string[] = [];
  out.push(`lab '${p}' is up in ${(ms / 1000).toFixed(2)} s: mode ${d.mode}, ${d.servers.length} real servers, offloads ${d.offloads ? 'on' : 'off'}`);
  out.push('');
  const rows: string[][] = [['namespace', 'interface', 'MAC', 'IPv4', 'IPv6', 'gateway']];
  rows.push([d.router.ns, 'brpub', d.router.public.mac, `${d.router.public.ipv4}/24`, `${d.router.public.ipv6}/64`, '(router, ip_forward=1)']);
  rows.push(['', 'brpriv', d.router.private.mac, `${d.router.private.ipv4}/24`, `${d.router.private.ipv6}/64`, '']);
  const c = d.client;
  rows.push([c.ns, 'eth0', c.eth0.mac, c.ipv4.length > 1 ? `${c.ipv4[0]}..${c.ipv4[c.ipv4.length - 1]!.split('.')[3]}` : c.ipv4[0]!, c.eth0.ipv6, [c.gateway.ipv4, ...c.gateway.routes.filter((r) => !r.includes(':'))].join('; ')]);
  for (const dir of d.directors) {
    rows.push([dir.ns, 'pub0', dir.public.mac, dir.public.ipv4, dir.public.ipv6, `${dir.gateway.ipv4} (${dir.role}, ip_forward=0)`]);
    rows.push(['', 'priv0', dir.private.mac, dir.private.ipv4, dir.private.ipv6, '']);
  }
  for (const s of d.servers) {
    rows.push([s.ns, 'eth0', s.eth0.mac, s.eth0.ipv4, s.eth0.ipv6, s.gateway.ipv4 + (s.vipOnLo ? ' (VIP on lo)' : '')]);
  }
  out.push(table(rows));
  out.push(`VIP         ${d.vip.ipv4}, ${d.vip.ipv6}  (floating: not assigned by the lab; uvs owns it)`);
  out.push(`NAT router  ${d.natRouter.ipv4}, ${d.natRouter.ipv6}  (floating: the servers' gateway in nat mode)`);
  if (d.mode === 'tun') out.push(`kernel ipip in the real servers: ${d.ipip ? 'yes (tunl0 up)' : 'no (a userspace decapsulator is needed)'}`);
  out.push(`services    echo tcp/udp ${d.ports.echo}, identify tcp/udp ${d.ports.identify}, http tcp ${d.ports.http}`);
  if (procs.length) out.push(`processes   ${procs.join('\n            ')}`);
  out.push(`state       ${stateFile}`);
  out.push('');
  const rs = d.servers[0]!.eth0.ipv4;
  const probe = `node ${PROBE_PATH}`;
  out.push('try:');
  out.push(`  ip netns exec ${c.ns} bash                          # a shell in the client`);
  if (d.mode === 'dr' || d.mode === 'tun') {
    out.push(`  ip netns exec ${c.ns} curl http://${rs}/            # a real server directly, via the switch router`);
    out.push(`  ip netns exec ${c.ns} ${probe} tcp ${rs} 9000 --send hi`);
  } else if (d.mode === 'routed') {
    out.push(`  ip netns exec ${d.directors[0].ns} sysctl -w net.ipv4.ip_forward=1   # or run a forwarder on dir1`);
    out.push(`  ip netns exec ${c.ns} curl http://${rs}/            # through dir1`);
  } else {
    out.push(`  (start uvs on ${d.directors[0].ns}, owning ${d.vip.ipv4} and ${d.natRouter.ipv4}, then)`);
    out.push(`  ip netns exec ${c.ns} curl http://${d.vip.ipv4}/`);
  }
  out.push(`  ip netns exec ${c.ns} ${probe} udp ${d.vip.ipv4} 9000 --send hi`);
  out.push(`  uvs lab status${p === 'uvs' ? '' : ` --prefix ${p}`};  uvs lab down${p === 'uvs' ? '' : ` --prefix ${p}`}`);
  return out.join('\n') + '\n';
}

function statusText(st: LabStatus): string {
  const out: string[] = [];
  const d = st.description;
  if (!st.recorded && st.strayNamespaces.length === 0) return `lab '${st.prefix}' is not up (no state file ${st.stateFile})\n`;
  const what = st.up ? 'up' : st.building ? 'being built (or its builder crashed)' : st.recorded ? 'DEGRADED' : 'not up, but leftovers exist';
  out.push(`lab '${st.prefix}' is ${what}${d ? `: mode ${d.mode}, ${d.servers.length} real servers, created ${d.createdAt}` : ''}`);
  out.push(`  state file: ${st.recorded ? st.stateFile : '(none)'}`);
  out.push(`  owner:      ${st.persistent ? 'none (persistent: remove with uvs lab down)' : st.owner ? `pid ${st.owner.pid} (${st.owner.alive ? 'alive' : 'gone'})` : '-'}`);
  if (st.namespaces.length) out.push(`  namespaces: ${st.namespaces.map((n) => `${n.name}${n.present ? '' : ' (MISSING)'}`).join(', ')}`);
  if (st.strayNamespaces.length) out.push(`  leftovers:  ${st.strayNamespaces.join(', ')} (remove with uvs lab down --prefix ${st.prefix})`);
  if (st.processes.length) {
    out.push('  processes:');
    for (const p of st.processes) out.push(`    ${p.name.padEnd(12)} pid ${String(p.pid).padEnd(8)} ${p.ns.padEnd(14)} ${p.alive ? 'alive' : 'DEAD'}${p.log ? `  log ${p.log}` : ''}`);
  }
  if (d) out.push(`  VIP ${d.vip.ipv4} / ${d.vip.ipv6}, NAT router ${d.natRouter.ipv4} / ${d.natRouter.ipv6}`);
  return out.join('\n') + '\n';
}
