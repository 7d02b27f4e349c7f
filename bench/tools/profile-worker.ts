#!/usr/bin/env node
// bench/tools/profile-worker: a CPU profile of a uvs datapath worker under load, for
// docs/profile.md (issue 7: "where the time goes"). Builds its own lab (prefix "uvsprof"),
// wires it for uvs NAT as the benchmark harness does, starts uvsd with `node --cpu-prof`
// (worker threads inherit the flag and write a profile each), drives new TCP connections
// from the client for --seconds with the harness's driver (bench/c/conn-blast.c),
// stops uvsd (SIGTERM: the profiles are written as the threads exit), and writes for the
// busiest worker thread a flame graph (SVG) and a top-N self-time table (markdown), plus
// uvsd's CPU time per connection split into user and system time, per thread.
//
//   node dist/bench/tools/profile-worker.js [--seconds 8] [--method nat|dr] [--rate R]
//        [--out docs/img] [--name profile-nat] [--top 25] [--env UVS_RX_RING=v3]
//        [--no-profile] [--rounds N] [--keep-profiles] [--perf]
//
// --perf also samples the worker thread's kernel and native stacks with `perf record -g`
// (when perf is installed) for half the run and adds the kernel functions with the most
// time under them: the JavaScript profile shows a system call only as its caller.
//
// --no-profile measures CPU only (no profiler overhead); with --rounds N and several
// --env sets separated by "|" (e.g. --env 'UVS_RX_RING=v3|UVS_RX_RING=v2'), it runs each
// set N times interleaved on one lab and prints medians side by side.
//
// Bounded: every child has a timeout; uvsd is stopped by PID and the lab torn down by its
// own down(), also on failure.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { buildLab, type Lab } from '../../src/lab/index.js';
import { startUvsd } from '../../test/control/fixtures/uvsd.js';
import { connBlast, type ConnLoadResult } from './conn-blast.js';
import { callTree, flameSvg, selfTable, selfTableMarkdown, usPerSample, type CpuProfile } from './flamegraph.js';


interface ThreadCpu {
  tid: number;
  name: string;
  user: number;
  system: number;
}

/** User and system CPU seconds of every thread of a process (/proc/PID/task, USER_HZ = 100). */
function threadCpu(pid: number): ThreadCpu[] {
  const out: ThreadCpu[] = [];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ tid: Number(t), name, user: Number(f[11]) / 100, system: Number(f[12]) / 100 });
    } catch {
      /* the thread ended meanwhile */
    }
  }
  return out;
}

function diff(a: ThreadCpu[], b: ThreadCpu[]): ThreadCpu[] {
  return b.map((t) => {
    const before = a.find((x) => x.tid === t.tid);
    return { ...t, user: t.user - (before?.user ?? 0), system: t.system - (before?.system ?? 0) };
  });
}

/** NAT or DR wiring as bench/harness/balancers.ts does it for uvs (no forwarding, nothing floating on dir1). */
async function wire(lab: Lab, method: 'nat' | 'dr'): Promise<void> {
  const d = lab.description;
  for (const s of d.servers) await lab.ip(s.name, ['route', 'replace', 'default', 'via', method === 'dr' ? d.router.private.ipv4 : d.natRouter.ipv4]);
  await lab.setForwarding('dir1', false);
  await lab.exec('client', ['sysctl', '-qw', 'net.ipv4.ip_local_port_range=1024 65000']).catch(() => '');
  await lab.exec('client', ['sysctl', '-qw', 'net.ipv4.tcp_tw_reuse=1']).catch(() => '');
}

/** NAME=VALUE pairs (separated by spaces) into an env object. */
function envOf(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of text.split(/\s+/).filter((x) => x !== '')) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`--env ${kv}: expected NAME=VALUE`);
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Sample {
  rate: number;
  /** µs per connection: the busiest thread (the worker) user/system, the rest of uvsd user/system. */
  workerUser: number;
  workerSystem: number;
  otherUser: number;
  otherSystem: number;
  p50: number;
  p99: number;
}

/** uvsd's rules and flags for the profiled service: rr over the three servers on port 9000, one worker. */
function uvsdConfig(lab: Lab, method: 'nat' | 'dr'): { rules: string; args: string[] } {
  const d = lab.description;
  const flag = method === 'nat' ? '-m' : '-g';
  const rules = [`-A -t ${d.vip.ipv4}:9000 -s rr`, ...d.servers.map((s) => `-a -t ${d.vip.ipv4}:9000 -r ${s.eth0.ipv4}:9000 ${flag}`)].join('\n') + '\n';
  return { rules, args: ['--workers', '1', '--interfaces', 'pub0,priv0', ...(method === 'nat' ? ['--owned', d.natRouter.ipv4] : [])] };
}

/** CPU (no profiler) of uvsd per connection for each env set, `rounds` times interleaved. */
async function compare(envSets: string[], seconds: number, method: 'nat' | 'dr', rounds: number, prefix: string, rate?: string): Promise<void> {
  const sets = (envSets.length ? envSets.join(' ') : '').split('|').map((x) => x.trim());
  const lab = await buildLab({ prefix, servers: 3, mode: 'nat', vipOnLo: true, replace: true });
  const samples = new Map<string, Sample[]>(sets.map((s) => [s, []]));
  try {
    await wire(lab, method);
    const { rules, args } = uvsdConfig(lab, method);
    for (let round = 0; round < rounds; round++) {
      for (const set of sets) {
        const u = await startUvsd(lab, rules, args, 'dir1', { env: envOf(set) });
        try {
          await new Promise((r) => setTimeout(r, 500));
          const before = threadCpu(u.process.pid);
          const driver = (secs: number, o: { concurrency: number; rate?: number }): Promise<ConnLoadResult> => connBlast(lab, 'client', { hosts: [lab.description.vip.ipv4], port: 9000, seconds: secs, latency: true, ...o });
          // The load, and (paced runs) a separate 100/s probe whose latency is reported, as
          // the harness's latency scenario does.
          const [r, probe] = await Promise.all([driver(seconds, { concurrency: 64, ...(rate ? { rate: Number(rate) } : {}) }), rate ? driver(seconds - 0.5, { concurrency: 16, rate: 100 }) : Promise.resolve(undefined)]);
          const cpu = diff(before, threadCpu(u.process.pid)).sort((a, b) => b.user + b.system - (a.user + a.system));
          if (process.env.PROFILE_WORKER_THREADS) process.stderr.write(`${set}: ${cpu.map((t) => `${t.tid - u.process.pid!}:${t.name}=${(t.user * 1000).toFixed(0)}+${(t.system * 1000).toFixed(0)}ms`).join(' ')}\n`);
          const lat = (probe ?? r).latency;
          const per = (x: number): number => (x * 1e6) / Math.max(1, r.ok);
          const rest = cpu.slice(1);
          samples.get(set)!.push({
            rate: (r.ok * 1000) / r.ms,
            workerUser: per(cpu[0]?.user ?? 0),
            workerSystem: per(cpu[0]?.system ?? 0),
            otherUser: per(rest.reduce((a, t) => a + t.user, 0)),
            otherSystem: per(rest.reduce((a, t) => a + t.system, 0)),
            p50: (lat?.connect.p50 ?? NaN) * 1000,
            p99: (lat?.connect.p99 ?? NaN) * 1000,
          });
        } finally {
          await u.stop();
        }
      }
    }
  } finally {
    await lab.down();
  }
  const lines = [
    `uvs ${method.toUpperCase()}, 1 worker, ${rounds} interleaved round(s) of ${seconds} s${rate ? ` paced at ${rate}/s, connect times of a separate 100/s probe` : ', closed loop (64 concurrent), connect times of the load itself'}; medians (min–max)`,
    '',
    '| env | conn/s | worker user µs/conn | worker sys µs/conn | rest of uvsd user+sys µs/conn | uvsd total µs/conn | connect p50 µs | connect p99 µs |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const fmt = (xs: number[], digits = 1): string => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
  for (const [set, xs] of samples) {
    lines.push(`| ${set || '(default)'} | ${fmt(xs.map((x) => x.rate), 0)} | ${fmt(xs.map((x) => x.workerUser))} | ${fmt(xs.map((x) => x.workerSystem))} | ${fmt(xs.map((x) => x.otherUser + x.otherSystem))} | ${fmt(xs.map((x) => x.workerUser + x.workerSystem + x.otherUser + x.otherSystem))} | ${fmt(xs.map((x) => x.p50), 0)} | ${fmt(xs.map((x) => x.p99), 0)} |`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

const run = promisify(execFile);

/** The thread of `pid` that used the most CPU over the next `ms` (the worker, under load). */
async function busiestThread(pid: number, ms: number): Promise<number> {
  const a = threadCpu(pid);
  await new Promise((r) => setTimeout(r, ms));
  const d = diff(a, threadCpu(pid)).sort((x, y) => y.user + y.system - (x.user + x.system));
  return d[0]!.tid;
}

/**
 * perf record -g of one thread for `seconds`, then the functions with the most time under
 * them (perf report --children), kernel and native, as a markdown table.
 */
async function perfThread(tid: number, seconds: number, dir: string): Promise<string> {
  const data = join(dir, 'perf.data');
  await run('perf', ['record', '-q', '-g', '-t', String(tid), '-o', data, '--', 'sleep', String(seconds)], { timeout: (seconds + 20) * 1000 });
  const { stdout } = await run('perf', ['report', '-i', data, '--children', '--sort', 'sym', '--stdio', '-g', 'none'], { timeout: 60_000, maxBuffer: 64 << 20 });
  const dso = await run('perf', ['report', '-i', data, '--no-children', '--sort', 'dso', '--stdio', '-g', 'none'], { timeout: 60_000, maxBuffer: 64 << 20 });
  const rows = stdout
    .split('\n')
    .map((l) => /^\s+([\d.]+)%\s+([\d.]+)%\s+\[(.)\]\s+(\S+)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    // User-space frames that only carry the thread's entry (start_thread ... the JS call) say nothing.
    .filter((m) => m[3] === 'k' || Number(m[2]) >= 0.3)
    .slice(0, 40)
    .map((m) => `| \`${m[4]}\` | ${m[3] === 'k' ? 'kernel' : 'user'} | ${m[1]}% | ${m[2]}% |`);
  const dsos = dso.stdout
    .split('\n')
    .map((l) => /^\s+([\d.]+)%\s+(.+?)\s*$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .slice(0, 6)
    .map((m) => `${m[2]} ${m[1]}%`);
  return [`On-CPU samples of the worker thread by where they ran: ${dsos.join(', ')}.`, '', '| function | space | with callees | self |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '8' },
      method: { type: 'string', default: 'nat' },
      rate: { type: 'string' },
      out: { type: 'string', default: 'docs/img' },
      name: { type: 'string' },
      top: { type: 'string', default: '25' },
      env: { type: 'string', multiple: true },
      prefix: { type: 'string', default: 'uvsprof' },
      'no-profile': { type: 'boolean', default: false },
      rounds: { type: 'string', default: '1' },
      'keep-profiles': { type: 'boolean', default: false },
      perf: { type: 'boolean', default: false },
    },
  });
  if (values['no-profile']) return compare(values.env ?? [], Number(values.seconds), values.method === 'dr' ? 'dr' : 'nat', Number(values.rounds), values.prefix, values.rate);
  const seconds = Number(values.seconds);
  if (!(seconds >= 1 && seconds <= 120)) throw new Error('--seconds must be 1..120');
  const method = values.method === 'dr' ? 'dr' : 'nat';
  const name = values.name ?? `profile-${method}`;
  const env: Record<string, string> = {};
  for (const kv of values.env ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`--env ${kv}: expected NAME=VALUE`);
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  mkdirSync(values.out, { recursive: true });
  // The raw .cpuprofile files (one per thread) go to a temporary directory, removed at the
  // end unless --keep-profiles.
  const profDir = mkdtempSync(join(tmpdir(), `uvs-${name}-`));

  const lab = await buildLab({ prefix: values.prefix, servers: 3, mode: 'nat', vipOnLo: true, replace: true });
  let report = '';
  try {
    await wire(lab, method);
    const { rules, args } = uvsdConfig(lab, method);
    const u = await startUvsd(lab, rules, args, 'dir1', { execArgv: ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=200'], env });
    let cpu: ThreadCpu[] = [];
    let load!: ConnLoadResult;
    let perfTable = '';
    try {
      await new Promise((r) => setTimeout(r, 500));
      const pid = u.process.pid;
      const before = threadCpu(pid);
      const loadRun = connBlast(lab, 'client', { hosts: [lab.description.vip.ipv4], port: 9000, seconds, concurrency: 64, ...(values.rate ? { rate: Number(values.rate) } : {}) });
      if (values.perf) {
        const tid = await busiestThread(pid, 500);
        perfTable = await perfThread(tid, Math.max(1, Math.floor(seconds / 2)), profDir).catch((e: unknown) => `perf failed: ${(e as Error).message.split('\n')[0]}`);
      }
      load = await loadRun;
      cpu = diff(before, threadCpu(pid));
    } finally {
      await u.stop();
    }
    // The profiles: one per thread; the worker is the one with the most samples outside (idle).
    const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
    if (files.length === 0) throw new Error(`no .cpuprofile written in ${profDir}`);
    const profiles = files.map((f) => ({ f, p: JSON.parse(readFileSync(join(profDir, f), 'utf8')) as CpuProfile }));
    const busyOf = (p: CpuProfile): number => selfTable(callTree(p)).busy;
    profiles.sort((a, b) => busyOf(b.p) - busyOf(a.p));
    const worker = profiles[0]!;
    const tree = callTree(worker.p);
    const us = usPerSample(worker.p);
    const svgFile = join(values.out, `${name}.svg`);
    const envText = Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ');
    writeFileSync(svgFile, flameSvg(tree, { title: `uvs ${method.toUpperCase()} worker under load: ${load.ok} connections in ${(load.ms / 1000).toFixed(1)} s${envText ? ` (${envText})` : ''}`, ...(us !== undefined ? { usPerSample: us } : {}) }));
    const table = selfTable(tree);
    const ok = Math.max(1, load.ok);
    const sum = (k: 'user' | 'system', filter: (t: ThreadCpu) => boolean = () => true): number => cpu.filter(filter).reduce((a, t) => a + t[k], 0);
    const perConn = (s: number): string => ((s * 1e6) / ok).toFixed(1);
    report = [
      `# uvs ${method.toUpperCase()} worker profile, ${new Date().toISOString()}`,
      '',
      `Load: ${load.ok} connections (${load.failed} failed) in ${(load.ms / 1000).toFixed(1)} s = ${((load.ok * 1000) / load.ms).toFixed(0)} conn/s${values.rate ? ` (paced at ${values.rate}/s)` : ' (closed loop, 64 concurrent)'}${envText ? `; ${envText}` : ''}.`,
      '',
      '## uvsd CPU per connection (from /proc, the whole run, profiler overhead included)',
      '',
      '| thread | user µs/conn | system µs/conn |',
      '| --- | --- | --- |',
      ...cpu.filter((t) => t.user + t.system > 0).sort((a, b) => b.user + b.system - (a.user + a.system)).map((t) => `| ${t.name} (${t.tid}) | ${perConn(t.user)} | ${perConn(t.system)} |`),
      `| all | ${perConn(sum('user'))} | ${perConn(sum('system'))} |`,
      '',
      `## Busiest thread (${worker.f}): top ${values.top} by self time`,
      '',
      selfTableMarkdown(table, Number(values.top), us),
      '',
      `Busy samples per connection: ${((table.busy * (us ?? 0)) / ok).toFixed(1)} µs (sampled wall time of this thread outside poll/idle).`,
      '',
      ...(perfTable ? ['## The worker thread in perf (kernel and native stacks)', '', perfTable, ''] : []),
      `Flame graph: ${svgFile}${values['keep-profiles'] ? `; profiles kept in ${profDir}` : ''}`,
      '',
    ].join('\n');
    writeFileSync(join(values.out, `${name}.md`), report);
    process.stdout.write(report);
  } finally {
    await lab.down();
    if (!values['keep-profiles']) rmSync(profDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`profile-worker: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
