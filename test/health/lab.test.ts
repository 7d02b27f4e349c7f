// Health checking end to end (issue 6): uvsd watching real servers in the lab under real
// client traffic. A server process stopped is taken out within interval × retries + timeout
// and re-admitted after its re-entry time; quiesced servers keep their established
// connections; the sorry server stands in when every server is down; agent feedback scales
// a server's share.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildLab, REAL_SERVER_PATH, type Lab } from '../../src/lab/index.js';
import { pidAlive, uniquePrefix } from '../../src/lab/testing.js';
import type { LoadSummary } from '../../src/lab/load.js';
import { LOAD, load } from '../datapath/fixtures/forward.js';
import { startUvsd, type RunningUvsd } from '../control/fixtures/uvsd.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The time (ms) uvsd logged `real server <to>` for the server at `address`, waiting up to `withinMs`. */
async function transition(u: RunningUvsd, address: string, to: 'up' | 'down', after: number, withinMs: number): Promise<number | undefined> {
  const until = Date.now() + withinMs;
  for (;;) {
    for (const line of u.log().split('\n')) {
      if (!line.includes(`"msg":"real server ${to}"`) || !line.includes(`${address}:`)) continue;
      const at = (JSON.parse(line) as { time: number }).time;
      if (at >= after) return at;
    }
    if (Date.now() > until) return undefined;
    await sleep(50);
  }
}

/** Stops a lab real server's process (by PID) and returns a function that starts it again. */
async function stopServer(lab: Lab, name: string): Promise<() => Promise<void>> {
  for (const p of lab.processes().filter((r) => r.name === name || r.name === `${name}-again`)) {
    process.kill(p.pid, 'SIGTERM');
    for (let i = 0; i < 100 && pidAlive(p.pid); i++) await sleep(20);
  }
  return async () => {
    const p = lab.spawn(name, [process.execPath, REAL_SERVER_PATH, '--name', name, '--ready-fd', '3'], { name: `${name}-again`, readyFd: true });
    await p.ready;
  };
}

/** Drops TCP to `port` in a server's namespace (its check then times out), or lifts that. */
async function blockPort(lab: Lab, name: string, port: number, on: boolean): Promise<void> {
  const nft = on ? `add table inet hc\nadd chain inet hc in { type filter hook input priority 0; }\nadd rule inet hc in tcp dport ${port} drop\n` : 'delete table inet hc\n';
  await lab.exec(name, ['nft', '-f', '-'], { input: nft });
}

/** A keepalived virtual_server on the VIP's port 9000 over `servers`, each with `check` (a checker block) and `extra` lines. */
function keepalivedService(vip: string, scheduler: string, servers: string[], check: string, opts: { weight?: number; serverLines?: string[]; serviceLines?: string[] } = {}): string {
  const indent = (lines: string[], pad: string): string => lines.map((l) => `${pad}${l}\n`).join('');
  return `virtual_server ${vip} 9000 {
    lb_algo ${scheduler}
    lb_kind NAT
    protocol TCP
${indent(opts.serviceLines ?? [], '    ')}${servers
    .map((a) => `    real_server ${a} 9000 {\n        weight ${opts.weight ?? 1}\n${indent(opts.serverLines ?? [], '        ')}${check.trimEnd().split('\n').map((l) => `        ${l}`).join('\n')}\n    }`)
    .join('\n')}
}
`;
}

/** keepalived's TCP_CHECK on the agent port, every second, 1 s timeout, no retry. */
const AGENT_PORT_CHECK = `TCP_CHECK {
    connect_port 9002
    connect_timeout 1
    delay_loop 1
    retry 0
}`;

function natServers(lab: Lab): string[] {
  return lab.description.servers.map((s) => s.eth0.ipv4);
}

t.test('a stopped server is out within interval × retries + timeout, back after re-entry', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('hs'), servers: 3, mode: 'nat' });
  t.teardown(() => lab.down());
  const [rs1, rs2, rs3] = natServers(lab);
  // nanny: timeout = 1 s (interval and timeout), one failure takes a server out, re-entry 3 s.
  const cfg = `primary = 198.18.0.2
service = lvs
network = nat
nat_router = ${lab.description.natRouter.ipv4} priv0:1

virtual app {
     active = 1
     address = ${lab.description.vip.ipv4} pub0:1
     port = 9000
     scheduler = rr
     protocol = tcp
     timeout = 1
     reentry = 3
${[rs1, rs2, rs3].map((a, i) => `     server rs${i + 1} {\n         address = ${a}\n         active = 1\n         weight = 1\n     }`).join('\n')}
}
`;
  const u = await startUvsd(lab, cfg, ['--workers', '2']);
  await sleep(1500); // every server checked once
  const batches: { start: number; end: number; r: LoadSummary }[] = [];
  let stop = false;
  const driver = (async () => {
    while (!stop) {
      const start = Date.now();
      const r = await load(lab, 'tcp', 9000, 9, ['--concurrency', '3', '--max-bytes', '512', '--timeout', '1000']);
      batches.push({ start, end: Date.now(), r });
    }
  })();
  await sleep(1500);
  const killedAt = Date.now();
  const restart = await stopServer(lab, 'rs2');
  const downAt = await transition(u, rs2!, 'down', killedAt, 5000);
  t.ok(downAt, 'uvsd took rs2 out');
  const bound = 1 * 1 + 1; // interval × retries + timeout, seconds
  t.ok(downAt! - killedAt <= bound * 1000 + 300, `within ${bound} s (+0.3 s scheduling): ${downAt! - killedAt} ms`);
  await sleep(2500);
  const restartedAt = Date.now();
  await restart();
  const upAt = await transition(u, rs2!, 'up', restartedAt, 8000);
  t.ok(upAt, 'rs2 came back');
  t.ok(upAt! - restartedAt >= 2000, `not before re-entry (3 successes, 1 s apart): ${upAt! - restartedAt} ms`);
  await sleep(2500);
  stop = true;
  await driver;
  const afterDown = batches.filter((b) => b.start > downAt! + 200 && b.start < restartedAt);
  t.ok(afterDown.length >= 2, `${afterDown.length} batches ran while rs2 was out`);
  t.equal(afterDown.reduce((n, b) => n + b.r.failed, 0), 0, 'after rs2 was taken out, no connection failed');
  t.notOk(afterDown.some((b) => b.r.servers.rs2), 'and none reached rs2');
  const failedEarly = batches.filter((b) => b.end < killedAt).reduce((n, b) => n + b.r.failed, 0);
  t.equal(failedEarly, 0, 'nothing failed before the stop');
  const afterUp = batches.filter((b) => b.start > upAt! + 200);
  t.ok(afterUp.some((b) => b.r.servers.rs2), `rs2 serves again after re-entry (${JSON.stringify(afterUp.map((b) => b.r.servers))})`);
  t.equal(afterUp.reduce((n, b) => n + b.r.failed, 0), 0, 'and nothing fails');
  await u.stop();
});

t.test('quiesce: a failing server keeps its established connections and gets no new ones', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('hq'), servers: 3, mode: 'nat' });
  t.teardown(() => lab.down());
  const [rs1, rs2, rs3] = natServers(lab);
  const vip = lab.description.vip.ipv4;
  const cfg = keepalivedService(vip, 'rr', [rs1!, rs2!, rs3!], AGENT_PORT_CHECK, { serverLines: ['inhibit_on_failure'] });
  const u = await startUvsd(lab, cfg, ['--workers', '2', '--owned', lab.description.natRouter.ipv4]);
  await sleep(1500);
  // 9 connections held open 6 s: three on each server.
  const held = lab.exec('client', [process.execPath, LOAD, 'tcp', vip, '9000', '9', '--concurrency', '9', '--hold', '6000', '--max-bytes', '20000', '--timeout', '5000'], { timeoutMs: 30_000 }).catch((e: { stdout?: string }) => e.stdout ?? '{}');
  await sleep(800);
  const blockedAt = Date.now();
  await blockPort(lab, 'rs2', 9002, true);
  t.ok(await transition(u, rs2!, 'down', blockedAt, 5000), 'rs2 fails its check (the check port times out)');
  t.match(await u.uvsadm(['-L', '-n']), new RegExp(`-> ${rs2!.replace(/\./g, '\\.')}:9000 +Masq +0 `), 'quiesced: listed at weight 0');
  t.match(await u.uvsadm(['-L', '-n', '--health']), new RegExp(`-> ${rs2!.replace(/\./g, '\\.')}:9000 +Masq +1 +down +\\d+s +.*tim`), 'the --health view says down, since when and why');
  const fresh = await load(lab, 'tcp', 9000, 20, ['--concurrency', '4', '--max-bytes', '512']);
  t.equal(fresh.ok, 20, 'new connections all served');
  t.notOk(fresh.servers.rs2, `none of them by rs2 (${JSON.stringify(fresh.servers)})`);
  const r = JSON.parse((await held).trim().split('\n').pop() || '{}') as LoadSummary;
  t.equal(r.ok, 9, `the 9 established connections completed, rs2's too (${JSON.stringify(r.servers)}, errors ${JSON.stringify(r.errors)})`);
  t.ok((r.servers.rs2 ?? 0) > 0, 'rs2 had some of them');
  await blockPort(lab, 'rs2', 9002, false);
  await u.stop();
});

t.test('every server down: the sorry server answers; one back: traffic returns to it', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('hy'), servers: 4, mode: 'nat' });
  t.teardown(() => lab.down());
  const [rs1, rs2, rs3, rs4] = natServers(lab);
  const vip = lab.description.vip.ipv4;
  const cfg = keepalivedService(vip, 'rr', [rs1!, rs2!, rs3!], AGENT_PORT_CHECK, { serviceLines: [`sorry_server ${rs4} 9000`] });
  const u = await startUvsd(lab, cfg, ['--workers', '2', '--owned', lab.description.natRouter.ipv4]);
  await sleep(1500);
  t.same(Object.keys((await load(lab, 'tcp', 9000, 9, ['--concurrency', '3'])).servers).sort(), ['rs1', 'rs2', 'rs3'], 'normally the three servers');
  const at = Date.now();
  for (const s of ['rs1', 'rs2', 'rs3']) await blockPort(lab, s, 9002, true);
  for (const a of [rs1, rs2, rs3]) await transition(u, a!, 'down', at, 5000);
  await sleep(300);
  const sorry = await load(lab, 'tcp', 9000, 9, ['--concurrency', '3']);
  t.same(sorry.servers, { rs4: 9 }, 'all down: the sorry server takes the traffic');
  const back = Date.now();
  await blockPort(lab, 'rs1', 9002, false);
  t.ok(await transition(u, rs1!, 'up', back, 5000), 'rs1 recovers');
  await sleep(300);
  const after = await load(lab, 'tcp', 9000, 9, ['--concurrency', '3']);
  t.same(after.servers, { rs1: 9 }, 'traffic returns to rs1, the sorry server is out');
  for (const s of ['rs2', 'rs3']) await blockPort(lab, s, 9002, false);
  await u.stop();
});

t.test('agent feedback: a server reporting 50% gets about half its configured share', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('ha'), servers: 3, mode: 'nat' });
  t.teardown(() => lab.down());
  const [rs1, rs2, rs3] = natServers(lab);
  const vip = lab.description.vip.ipv4;
  // Restart the servers with an agent file each: rs2 says 50%.
  for (const [name, reply] of [['rs1', '100%'], ['rs2', '50%'], ['rs3', '100%']] as const) {
    const file = join(lab.logDir, `${name}.agent`);
    writeFileSync(file, `${reply}\n`);
    await stopServer(lab, name);
    await lab.spawn(name, [process.execPath, REAL_SERVER_PATH, '--name', name, '--agent-file', file, '--ready-fd', '3'], { name: `${name}-agent`, readyFd: true }).ready;
  }
  const cfg = keepalivedService(vip, 'wlc', [rs1!, rs2!, rs3!], 'AGENT_CHECK {\n    connect_port 9002\n    connect_timeout 1\n    delay_loop 1\n}', { weight: 10 });
  const u = await startUvsd(lab, cfg, ['--workers', '2', '--owned', lab.description.natRouter.ipv4]);
  await sleep(2500);
  t.match(await u.uvsadm(['-L', '-n']), new RegExp(`-> ${rs2!.replace(/\./g, '\\.')}:9000 +Masq +5 `), 'rs2 runs at weight 5 (50% of 10)');
  const r = await load(lab, 'tcp', 9000, 250, ['--concurrency', '250', '--hold', '3000', '--max-bytes', '512', '--timeout', '8000']);
  t.equal(r.ok, 250, '250 held connections');
  const half = (r.servers.rs2 ?? 0) / (((r.servers.rs1 ?? 0) + (r.servers.rs3 ?? 0)) / 2);
  t.ok(half > 0.4 && half < 0.6, `rs2 got ${(half * 100).toFixed(0)}% of the others' share (${JSON.stringify(r.servers)})`);
  await u.stop();
});

t.test('checks that hang, answer garbage or cannot run: reasons in the status, the daemon unharmed', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('hb'), servers: 3, mode: 'nat' });
  t.teardown(() => lab.down());
  const [rs1, rs2, rs3] = natServers(lab);
  const vip = lab.description.vip.ipv4;
  await blockPort(lab, 'rs3', 9002, true); // rs3's check port never answers
  const cfg = `virtual_server ${vip} 9000 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server ${rs1} 9000 {
        MISC_CHECK {
            misc_path "/nonexistent/check-it %h"
            misc_timeout 1
            delay_loop 1
        }
    }
    real_server ${rs2} 9000 {
        HTTP_GET {
            url {
                path /
            }
            connect_timeout 1
            delay_loop 1
        }
    }
    real_server ${rs3} 9000 {
        TCP_CHECK {
            connect_port 9002
            connect_timeout 1
            delay_loop 1
        }
    }
}
`;
  const u = await startUvsd(lab, cfg, ['--workers', '1', '--owned', lab.description.natRouter.ipv4]);
  await sleep(4000);
  const t0 = Date.now();
  const health = await u.uvsadm(['-L', '-n', '--health']);
  t.ok(Date.now() - t0 < 3000, `uvsadm answered at once while checks hang (${Date.now() - t0} ms)`);
  t.match(health, new RegExp(`${rs1!.replace(/\./g, '\\.')}:9000 .* down .*program not found: /nonexistent/check-it`), 'a program that does not exist');
  t.match(health, new RegExp(`${rs2!.replace(/\./g, '\\.')}:9000 .* down .*not an HTTP response`), 'garbage where HTTP was expected (the identify service)');
  t.match(health, new RegExp(`${rs3!.replace(/\./g, '\\.')}:9000 .* down .*timed out`), 'a check that hangs times out');
  const json = JSON.parse(await u.uvsadm(['-L', '-n', '--json'])) as { services: { servers: { address: string; health?: { state: string; checks: { reason?: string; at?: number }[] } }[] }[] };
  const servers = json.services[0]!.servers;
  t.equal(servers.length, 3, '--json lists every configured server');
  t.ok(servers.every((s) => s.health?.state === 'down' && s.health.checks[0]?.reason && (s.health.checks[0]?.at ?? 0) > 0), '--json: each check\'s last result, time and reason');
  t.ok(u.process.child.exitCode === null, 'uvsd is still running');
  t.equal((await load(lab, 'tcp', 9000, 3, ['--concurrency', '3', '--timeout', '1500'])).ok, 0, 'with every server down and no sorry server, nothing is served');
  await blockPort(lab, 'rs3', 9002, false);
  await u.stop();
});
