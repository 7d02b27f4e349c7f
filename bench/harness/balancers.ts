// bench/harness/balancers: the balancers the harness compares on one lab (issue 7). Each
// one rewires dir1 and the real servers' routes for itself, starts what it needs, and
// says where the client aims (`target`) and which process to charge CPU to (`pid`; none
// for the kernel's own paths, whose work runs in softirq). Every balancer serves the same
// ports as the real servers: TCP 9000 (identify), 9001 (digest), 80 (HTTP) and, where
// it balances UDP, the flood port; `target.port` is the connections port (9000).
//
//   direct       client → the servers through kernel forwarding on dir1, the client taking
//                them in turn (no balancer: the limit); the flood and bulk go to rs1
//   kernel-nat   nftables DNAT on dir1, numgen random mod 3 over the servers
//   haproxy      HAProxy mode tcp on dir1 listening on the VIP (a full proxy: the servers
//                see dir1's address, not the client's)
//   uvs-*        uvsd on dir1 with ipvsadm rules, rr over the three servers, NAT or DR,
//                1 or 2 workers
//   kernel IPVS  detected only (kernelIpvs()): this machine's kernel has none
//
// The routing switch follows bench/datapath.ts's setRouting (not exported there, so it is
// written again here, per balancer).

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab, LabProcess } from '../../src/lab/index.js';
import { startUvsd } from '../../test/control/fixtures/uvsd.js';
import { FLOOD_PORT } from '../tools/measure.js';

export interface Target {
  host: string;
  /**
   * Where the new-connection and keep-alive scenarios aim, in turn: the VIP alone for a
   * balancer; every server for direct (the client spreads the load itself, so the limit
   * it measures is not one server's).
   */
  hosts: string[];
  /** The connections port; 9001 (digest), 80 (HTTP) and FLOOD_PORT map one to one. */
  port: number;
}

export interface RunningBalancer {
  target: Target;
  /** The balancer's process, for CPU accounting (threads included). */
  pid?: number;
  teardown(): Promise<void>;
}

export interface Balancer {
  name: string;
  /** One line for the tables. */
  label: string;
  /** Balances UDP (the pps scenario). */
  udp: boolean;
  /** Terminates TCP: the servers see the balancer, not the client. */
  proxy: boolean;
  setup(lab: Lab): Promise<RunningBalancer>;
}

/** TCP ports every balancer forwards: identify, digest, HTTP. */
export const TCP_PORTS = [9000, 9001, 80] as const;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const quiet = (p: Promise<unknown>): Promise<void> => p.then(() => undefined, () => undefined);

function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    if (existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return null;
}

/** Kernel IPVS on this host: available, or why not. */
export function kernelIpvs(): { available: boolean; reason: string } {
  if (existsSync('/proc/net/ip_vs')) return { available: true, reason: '/proc/net/ip_vs present' };
  const modprobe = which('modprobe');
  if (modprobe) {
    try {
      execFileSync(modprobe, ['-n', 'ip_vs'], { stdio: 'ignore' });
      return { available: false, reason: 'ip_vs module exists but is not loaded (not benchmarked: the harness does not load modules)' };
    } catch {
      /* falls through */
    }
  }
  let builtin = false;
  try {
    builtin = readFileSync(`/lib/modules/${execFileSync('uname', ['-r']).toString().trim()}/modules.builtin`, 'utf8').includes('ip_vs');
  } catch {
    /* no module tree */
  }
  return { available: false, reason: builtin ? 'ip_vs listed as built in, but /proc/net/ip_vs is absent' : 'not available on this kernel (no /proc/net/ip_vs, no ip_vs module); kernel NAT (nftables DNAT) stands in' };
}

type ServerGateway = 'nat-router' | 'switch';

/** Common wiring: servers' default route, dir1's forwarding, the floating addresses on dir1. */
async function wire(lab: Lab, o: { gateway: ServerGateway; forwarding: boolean; natRouterOnDir1: boolean; vipOnDir1: boolean; clientToPrivate: boolean }): Promise<void> {
  const d = lab.description;
  for (const s of d.servers) await lab.ip(s.name, ['route', 'replace', 'default', 'via', o.gateway === 'switch' ? d.router.private.ipv4 : d.natRouter.ipv4]);
  await lab.setForwarding('dir1', o.forwarding);
  if (o.natRouterOnDir1) await lab.ip('dir1', ['addr', 'replace', `${d.natRouter.ipv4}/24`, 'dev', 'priv0']);
  else await quiet(lab.ip('dir1', ['addr', 'del', `${d.natRouter.ipv4}/24`, 'dev', 'priv0']));
  if (o.vipOnDir1) await lab.ip('dir1', ['addr', 'replace', `${d.vip.ipv4}/32`, 'dev', 'pub0']);
  else await quiet(lab.ip('dir1', ['addr', 'del', `${d.vip.ipv4}/32`, 'dev', 'pub0']));
  if (o.clientToPrivate) await lab.ip('client', ['route', 'replace', '198.19.0.0/24', 'via', d.directors[0].public.ipv4]);
  else await quiet(lab.ip('client', ['route', 'del', '198.19.0.0/24']));
  // The client's neighbour entry for the VIP may name another MAC from an earlier balancer.
  await quiet(lab.ip('client', ['neigh', 'flush', 'dev', 'eth0']));
}

/** Back to neutral: no forwarding, no floating addresses on dir1, no client route. */
async function unwire(lab: Lab): Promise<void> {
  await wire(lab, { gateway: 'nat-router', forwarding: false, natRouterOnDir1: false, vipOnDir1: false, clientToPrivate: false });
}

/** Flushes dir1's conntrack table (conntrack -F when installed); entries also time out fast (see kernel-nat). */
async function flushConntrack(lab: Lab): Promise<void> {
  const ct = which('conntrack');
  if (ct) await quiet(lab.exec('dir1', [ct, '-F']));
}

const direct: Balancer = {
  name: 'direct',
  label: 'direct: kernel forwarding, the client takes the servers in turn (no balancer)',
  udp: true,
  proxy: false,
  async setup(lab) {
    await wire(lab, { gateway: 'nat-router', forwarding: true, natRouterOnDir1: true, vipOnDir1: false, clientToPrivate: true });
    const servers = lab.description.servers.map((s) => s.eth0.ipv4);
    return { target: { host: servers[0]!, hosts: servers, port: 9000 }, teardown: () => unwire(lab) };
  },
};

const kernelNat: Balancer = {
  name: 'kernel-nat',
  label: 'kernel NAT: nftables DNAT, numgen random mod 3',
  udp: true,
  proxy: false,
  async setup(lab) {
    const d = lab.description;
    await wire(lab, { gateway: 'nat-router', forwarding: true, natRouterOnDir1: true, vipOnDir1: true, clientToPrivate: false });
    await flushConntrack(lab);
    const map = d.servers.map((s, i) => `${i} : ${s.eth0.ipv4}`).join(', ');
    const n = d.servers.length;
    const rules = [...TCP_PORTS.map((p) => `  ip daddr ${d.vip.ipv4} tcp dport ${p} dnat to numgen random mod ${n} map { ${map} }`), `  ip daddr ${d.vip.ipv4} udp dport ${FLOOD_PORT} dnat to numgen random mod ${n} map { ${map} }`];
    await lab.exec('dir1', ['nft', '-f', '-'], { input: `table ip uvsbench_nat {\n chain pre {\n  type nat hook prerouting priority -100;\n${rules.join('\n')}\n }\n}\n` });
    // (After the NAT table: it loads conntrack.) Short conntrack timeouts in dir1's namespace so one run's entries do not outlive it.
    for (const [k, v] of [['tcp_timeout_time_wait', '1'], ['tcp_timeout_close', '1'], ['tcp_timeout_fin_wait', '2'], ['udp_timeout', '2'], ['udp_timeout_stream', '2']] as const) {
      await quiet(lab.exec('dir1', ['sysctl', '-qw', `net.netfilter.nf_conntrack_${k}=${v}`]));
    }
    return {
      target: { host: d.vip.ipv4, hosts: [d.vip.ipv4], port: 9000 },
      async teardown() {
        await quiet(lab.exec('dir1', ['nft', 'delete', 'table', 'ip', 'uvsbench_nat']));
        await flushConntrack(lab);
        await unwire(lab);
      },
    };
  },
};

/** HAProxy, if installed (the harness does not install it: `apt-get install -y haproxy`). */
export function haproxyPath(): string | null {
  return which('haproxy');
}

const haproxy: Balancer = {
  name: 'haproxy',
  label: 'HAProxy mode tcp, roundrobin',
  udp: false,
  proxy: true,
  async setup(lab) {
    const d = lab.description;
    const bin = haproxyPath();
    if (!bin) throw new Error('haproxy is not installed');
    await wire(lab, { gateway: 'nat-router', forwarding: false, natRouterOnDir1: false, vipOnDir1: true, clientToPrivate: false });
    const cfg = [
      'global',
      '  maxconn 8000', // 2 FDs per connection: within the 20000-FD limit here
      'defaults',
      '  mode tcp',
      '  timeout connect 5s',
      '  timeout client 30s',
      '  timeout server 30s',
      ...TCP_PORTS.flatMap((p) => [
        `listen p${p}`,
        `  bind ${d.vip.ipv4}:${p}`,
        '  balance roundrobin',
        ...d.servers.map((s) => `  server ${s.name} ${s.eth0.ipv4}:${p}`),
      ]),
    ].join('\n') + '\n';
    const file = join(lab.logDir, 'bench-haproxy.cfg');
    writeFileSync(file, cfg);
    const p: LabProcess = lab.spawn('dir1', [bin, '-db', '-f', file], { name: `haproxy-${Date.now()}` });
    // Ready when all its ports listen (or fail with its log).
    const until = Date.now() + 10_000;
    for (;;) {
      const ss = await lab.exec('dir1', ['ss', '-Hltn']).catch(() => '');
      if (TCP_PORTS.every((port) => ss.includes(`${d.vip.ipv4}:${port} `))) break;
      if (p.child.exitCode !== null || Date.now() > until) {
        await p.stop(5_000);
        await unwire(lab);
        throw new Error(`haproxy did not start: ${p.log && existsSync(p.log) ? readFileSync(p.log, 'utf8').slice(-500) : 'no log'}`);
      }
      await sleep(100);
    }
    return {
      target: { host: d.vip.ipv4, hosts: [d.vip.ipv4], port: 9000 },
      pid: p.pid,
      async teardown() {
        await p.stop(10_000);
        await unwire(lab);
      },
    };
  },
};

function uvs(method: 'nat' | 'dr', workers: number): Balancer {
  return {
    name: `uvs-${method}-${workers}w`,
    label: `uvs ${method.toUpperCase()}, ${workers} worker${workers > 1 ? 's' : ''} (uvsd, ipvsadm rules, rr)`,
    udp: true,
    proxy: false,
    async setup(lab) {
      const d = lab.description;
      // NAT: the servers answer through the NAT-router address uvs owns; DR: straight to the client.
      await wire(lab, { gateway: method === 'dr' ? 'switch' : 'nat-router', forwarding: false, natRouterOnDir1: false, vipOnDir1: false, clientToPrivate: false });
      const flag = method === 'nat' ? '-m' : '-g';
      const svc = (proto: '-t' | '-u', port: number): string[] => [`-A ${proto} ${d.vip.ipv4}:${port} -s rr`, ...d.servers.map((s) => `-a ${proto} ${d.vip.ipv4}:${port} -r ${s.eth0.ipv4}:${port} ${flag}`)];
      const rules = [...TCP_PORTS.flatMap((p) => svc('-t', p)), ...svc('-u', FLOOD_PORT)].join('\n') + '\n';
      const args = ['--workers', String(workers), '--interfaces', 'pub0,priv0', ...(method === 'nat' ? ['--owned', d.natRouter.ipv4] : [])];
      const u = await startUvsd(lab, rules, args);
      await sleep(300);
      return {
        target: { host: d.vip.ipv4, hosts: [d.vip.ipv4], port: 9000 },
        pid: u.process.pid,
        async teardown() {
          await u.stop();
          await unwire(lab);
        },
      };
    },
  };
}

export const ALL_BALANCERS: readonly Balancer[] = [direct, kernelNat, haproxy, uvs('nat', 1), uvs('nat', 2), uvs('dr', 1), uvs('dr', 2)];

/** The balancers that can run here, and those skipped with why. */
export function availableBalancers(names?: readonly string[]): { balancers: Balancer[]; skipped: { name: string; reason: string }[] } {
  const skipped: { name: string; reason: string }[] = [];
  const balancers: Balancer[] = [];
  for (const b of ALL_BALANCERS) {
    if (names && !names.includes(b.name)) continue;
    if (b.name === 'haproxy' && !haproxyPath()) skipped.push({ name: b.name, reason: 'haproxy not installed (apt-get install -y haproxy)' });
    else balancers.push(b);
  }
  const ipvs = kernelIpvs();
  skipped.push({ name: 'kernel-ipvs', reason: ipvs.available ? 'present but not wired into the harness yet' : ipvs.reason });
  return { balancers, skipped };
}
