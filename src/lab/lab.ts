// The lab builder: buildLab() creates the namespaces, bridges, veths, addresses and routes
// of the plan (plan.ts), starts the real servers, and records everything in the state file;
// labDown()/labStatus() work from the state file alone, from any process.
//
// Cleanup guarantees:
// - Everything the lab starts is recorded by PID (+ start time and command line) before it
//   can matter; teardown signals recorded PIDs only if they are still the same process
//   (/proc/PID/stat start time, else /proc/PID/cmdline), SIGTERM then SIGKILL, then kills what
//   is still inside the lab's namespaces (`ip netns pids`), then `ip netns del`s them.
//   Never by name.
// - A non-persistent lab (tests, demo, benches) is registered and torn down synchronously on
//   process 'exit', SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGALRM and fatal uncaught exceptions.
// - buildLab() of a prefix first removes leftovers of a crashed owner (state file whose owner
//   is dead, or namespaces named like the lab's without a state file).

import { type ChildProcess, spawn as spawnChild, type StdioOptions } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UvsError } from '../errors.js';
import { isLabNamespace, planLab, validatePrefix } from './plan.js';
import type { ProbeResult } from './probe.js';
import { defaultRunDir, logDirPath, readState, removeState, statePath, writeState } from './state.js';
import {
  checkPrivileges,
  isAlive,
  LabExecError,
  procCmdline,
  procStartTime,
  run,
  runSync,
  sameProcess,
  signal,
  sleep,
  sleepSync,
} from './sys.js';
import type { LabDescription, LabDownResult, LabOptions, LabProcessRecord, LabState, LabStatus } from './types.js';

export const REAL_SERVER_PATH = fileURLToPath(new URL('./real-server.js', import.meta.url));
export const PROBE_PATH = fileURLToPath(new URL('./probe.js', import.meta.url));

const TERM_WAIT_MS = 1500;
const KILL_WAIT_MS = 1000;
const SERVER_READY_MS = 10_000;

// --- teardown, written once as a generator of operations, driven sync or async ------------

type Op = { kind: 'run'; argv: string[]; input?: string } | { kind: 'sleep'; ms: number };
type OpResult = { ok: boolean; stdout: string; stderr: string };

function* listNamespaces(): Generator<Op, string[], OpResult> {
  const r = yield { kind: 'run', argv: ['ip', 'netns', 'list'] };
  if (!r.ok) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0);
}

/** Signal a set of PIDs with SIGTERM, wait, SIGKILL the survivors. Returns [signalled, forced]. */
function* stopPids(targets: { pid: number; group: boolean; still: () => boolean }[]): Generator<Op, [number[], number[]], OpResult> {
  const signalled: number[] = [];
  const forced: number[] = [];
  const live = targets.filter((t) => t.still());
  for (const t of live) if (signal(t.pid, 'SIGTERM', t.group)) signalled.push(t.pid);
  for (let waited = 0; waited < TERM_WAIT_MS && live.some((t) => t.still()); waited += 10) yield { kind: 'sleep', ms: 10 };
  for (const t of live) {
    if (t.still()) {
      signal(t.pid, 'SIGKILL', t.group);
      forced.push(t.pid);
    } else if (t.group) {
      signal(t.pid, 'SIGKILL', true); // leftovers of its group
    }
  }
  for (let waited = 0; waited < KILL_WAIT_MS && live.some((t) => t.still()); waited += 10) yield { kind: 'sleep', ms: 10 };
  return [signalled, forced];
}

function* teardownSteps(prefix: string, runDir: string, keepLogs: boolean, stateArg?: LabState | null): Generator<Op, LabDownResult & { remaining: string[] }, OpResult> {
  let state: LabState | null | undefined = stateArg;
  if (state === undefined) {
    try {
      state = readState(prefix, runDir);
    } catch {
      state = null; // corrupt: still clean what is named like the lab
    }
  }
  const present = yield* listNamespaces();
  const ours = new Set<string>([...(state?.namespaces ?? []), ...present.filter((n) => isLabNamespace(prefix, n))]);
  const targets = [...ours].filter((n) => present.includes(n));

  // 1. The processes the lab recorded (wherever they are), if still the same processes.
  const recorded = (state?.processes ?? []).filter((p) => p.pid !== process.pid);
  const [killed, forced] = yield* stopPids(recorded.map((p) => ({ pid: p.pid, group: p.group, still: () => sameProcess(p) })));

  // 2. Whatever still runs inside the lab's namespaces (started by hand, by a test, ...).
  const inside: number[] = [];
  for (const ns of targets) {
    const r = yield { kind: 'run', argv: ['ip', 'netns', 'pids', ns] };
    if (r.ok) for (const l of r.stdout.split('\n')) if (/^\d+$/.test(l.trim())) inside.push(Number(l.trim()));
  }
  const strays = inside
    .filter((pid) => pid !== process.pid && !killed.includes(pid))
    .map((pid) => {
      const st = procStartTime(pid);
      return { pid, group: false, still: () => st !== null && procStartTime(pid) === st };
    });
  const [k2, f2] = yield* stopPids(strays);

  // 3. The namespaces (their veths and bridges go with them).
  if (targets.length > 0) {
    yield { kind: 'run', argv: ['ip', '-force', '-batch', '-'], input: targets.map((n) => `netns delete ${n}\n`).join('') };
  }
  const after = yield* listNamespaces();
  const remaining = targets.filter((n) => after.includes(n));
  if (remaining.length === 0) {
    try {
      removeState(prefix, runDir, keepLogs);
    } catch {
      /* best effort */
    }
  }
  return { prefix, namespaces: targets.filter((n) => !remaining.includes(n)), killed: [...killed, ...k2], forced: [...forced, ...f2], remaining };
}

function driveSync<T>(gen: Generator<Op, T, OpResult>): T {
  let r = gen.next();
  while (!r.done) {
    const op = r.value;
    if (op.kind === 'sleep') {
      sleepSync(op.ms);
      r = gen.next({ ok: true, stdout: '', stderr: '' });
    } else {
      const res = runSync(op.argv, op.input === undefined ? {} : { input: op.input });
      r = gen.next(res);
    }
  }
  return r.value;
}

async function driveAsync<T>(gen: Generator<Op, T, OpResult>): Promise<T> {
  let r = gen.next();
  while (!r.done) {
    const op = r.value;
    if (op.kind === 'sleep') {
      await sleep(op.ms);
      r = gen.next({ ok: true, stdout: '', stderr: '' });
    } else {
      let res: OpResult;
      try {
        res = { ok: true, stdout: await run(op.argv, op.input === undefined ? {} : { input: op.input }), stderr: '' };
      } catch (e) {
        const x = e as LabExecError;
        res = { ok: false, stdout: x.stdout ?? '', stderr: x.stderr ?? String(e) };
      }
      r = gen.next(res);
    }
  }
  return r.value;
}

// --- registry of labs owned by this process, torn down on exit ----------------------------

const active = new Map<string, Lab>();
let hooked = false;

function teardownAllSync(): void {
  for (const lab of [...active.values()]) {
    try {
      lab.downSync();
    } catch {
      /* nothing more can be done while exiting */
    }
  }
  active.clear();
  unhook();
}

function onSignal(sig: NodeJS.Signals): void {
  teardownAllSync();
  // Keep the default behaviour (terminate) unless someone else handles the signal.
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}
const signalHandlers = new Map<NodeJS.Signals, () => void>();
const onExit = (): void => teardownAllSync();
// An uncaught exception kills the process (and 'exit' follows) unless someone handles it
// (tap does, and goes on with other subtests that may own labs): only then tear down now.
const onUncaught = (): void => {
  if (process.listenerCount('uncaughtException') === 0) teardownAllSync();
};

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', onExit);
  process.on('uncaughtExceptionMonitor', onUncaught);
  // SIGALRM: how tap signals a test process that timed out.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGALRM'] as const) {
    const h = (): void => {
      // Runs first (prepended) and removes itself before anything else runs, so a later
      // listener that re-raises when it is alone (signal-exit, used by tap) still does.
      process.removeListener(sig, h);
      signalHandlers.delete(sig);
      onSignal(sig);
    };
    signalHandlers.set(sig, h);
    process.prependListener(sig, h);
  }
}

function unhook(): void {
  if (!hooked || active.size > 0) return;
  hooked = false;
  process.removeListener('exit', onExit);
  process.removeListener('uncaughtExceptionMonitor', onUncaught);
  for (const [sig, h] of signalHandlers) process.removeListener(sig, h);
  signalHandlers.clear();
}

// --- public: status and down without a Lab object ------------------------------------------

export interface LabDownOptions {
  runDir?: string;
  keepLogs?: boolean;
}

/** Tear down the lab of `prefix` (state file + namespaces named like it), from any process. */
export async function labDown(prefix: string, opts: LabDownOptions = {}): Promise<LabDownResult> {
  validatePrefix(prefix);
  checkPrivileges();
  const runDir = opts.runDir ?? defaultRunDir();
  const key = statePath(prefix, runDir);
  const mine = active.get(key);
  if (mine) return mine.down();
  const r = await driveAsync(teardownSteps(prefix, runDir, opts.keepLogs ?? false));
  if (r.remaining.length > 0) {
    throw new UvsError('UVS_LAB_DOWN', `lab '${prefix}': could not delete namespaces ${r.remaining.join(', ')}`);
  }
  const { remaining: _, ...result } = r;
  return result;
}

/** Synchronous labDown (never throws): for exit paths. */
export function labDownSync(prefix: string, opts: LabDownOptions = {}): LabDownResult {
  const runDir = opts.runDir ?? defaultRunDir();
  const mine = active.get(statePath(prefix, runDir));
  if (mine) return mine.downSync();
  const { remaining: _, ...result } = driveSync(teardownSteps(prefix, runDir, opts.keepLogs ?? false));
  return result;
}

/** Prefixes with a state file in runDir. */
export function listLabs(opts: { runDir?: string } = {}): string[] {
  const runDir = opts.runDir ?? defaultRunDir();
  let names: string[];
  try {
    names = readdirSync(runDir);
  } catch {
    return [];
  }
  return names
    .map((n) => /^lab-([A-Za-z][A-Za-z0-9_]*)\.json$/.exec(n)?.[1])
    .filter((p): p is string => p !== undefined)
    .sort();
}

/**
 * Tear down every stale lab: a non-persistent lab whose owner process is gone (a test
 * runner that was SIGKILLed, ...). Live and persistent labs are left alone.
 */
export async function labSweep(opts: LabDownOptions = {}): Promise<LabDownResult[]> {
  checkPrivileges();
  const out: LabDownResult[] = [];
  for (const prefix of listLabs(opts)) {
    let state: LabState | null;
    try {
      state = readState(prefix, opts.runDir ?? defaultRunDir());
    } catch {
      continue; // corrupt: leave it to an explicit `uvs lab down --prefix`
    }
    if (state === null || state.owner === null) continue;
    if (state.owner.pid === process.pid || sameProcess({ pid: state.owner.pid, starttime: state.owner.starttime, cmdlines: [] })) continue;
    out.push(await labDown(prefix, opts));
  }
  return out;
}

export async function labStatus(prefix: string, opts: { runDir?: string } = {}): Promise<LabStatus> {
  validatePrefix(prefix);
  const runDir = opts.runDir ?? defaultRunDir();
  const state = readState(prefix, runDir);
  const present = await driveAsync(listNamespaces());
  const recorded = state?.namespaces ?? [];
  const namespaces = recorded.map((name) => ({ name, present: present.includes(name) }));
  return {
    prefix,
    stateFile: statePath(prefix, runDir),
    recorded: state !== null,
    up: state !== null && !state.building && namespaces.length > 0 && namespaces.every((n) => n.present),
    persistent: state !== null && state.owner === null,
    owner: state?.owner ? { pid: state.owner.pid, alive: sameProcess({ pid: state.owner.pid, starttime: state.owner.starttime, cmdlines: [] }) } : null,
    building: state?.building ?? false,
    namespaces,
    strayNamespaces: present.filter((n) => isLabNamespace(prefix, n) && !recorded.includes(n)),
    processes: (state?.processes ?? []).map((p) => ({ pid: p.pid, name: p.name, ns: p.ns, alive: sameProcess(p), argv: p.argv, log: p.log })),
    description: state?.description ?? null,
  };
}

// --- the Lab object ------------------------------------------------------------------------

export interface LabExecOptions {
  /** Written to the command's stdin. */
  input?: string;
  /** Default 30 s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface LabSpawnOptions {
  /** Name for the record and the log file (default: <ns-suffix>-<program>-<n>). */
  name?: string;
  /**
   * 'log' (default): stdout+stderr appended to <logDir>/<name>.log; 'pipe': the caller reads
   * child.stdout/stderr; 'inherit'; 'ignore'.
   */
  stdio?: 'log' | 'pipe' | 'inherit' | 'ignore';
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Own process group (signalled as a group). Default false (true for persistent labs). */
  detached?: boolean;
  /** Give the child fd 3 (a pipe): `ready` resolves at the first line it writes there. */
  readyFd?: boolean;
  /** Keep the event loop alive while the child runs (default: only with stdio 'pipe'). */
  ref?: boolean;
}

export interface LabProcess {
  readonly pid: number;
  readonly ns: string;
  readonly name: string;
  readonly argv: string[];
  readonly log: string | null;
  readonly child: ChildProcess;
  /** Resolves when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** With readyFd: resolves with the first line written on fd 3 (rejects if the process exits first). */
  readonly ready: Promise<string>;
  /** SIGTERM, wait up to timeoutMs (default 2000), SIGKILL. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface ProbeSpec {
  proto: 'tcp' | 'udp' | 'http';
  /** Host for tcp/udp; for http either a URL or a host (then http://host:port/path). */
  host: string;
  port?: number;
  path?: string;
  send?: string;
  size?: number;
  bind?: string;
  timeoutMs?: number;
  count?: number;
}

export type { ProbeResult };

export class Lab {
  readonly prefix: string;
  readonly description: LabDescription;
  readonly statePath: string;
  readonly logDir: string;
  readonly runDir: string;
  readonly persistent: boolean;
  private readonly keepLogs: boolean;
  private state: LabState;
  private seq = 0;
  private closed = false;

  /** @internal use buildLab(). */
  constructor(state: LabState, description: LabDescription, runDir: string, keepLogs: boolean, persistent: boolean) {
    this.state = state;
    this.description = description;
    this.prefix = state.prefix;
    this.runDir = runDir;
    this.keepLogs = keepLogs;
    this.statePath = statePath(state.prefix, runDir);
    this.logDir = state.logDir;
    this.persistent = persistent;
  }

  /** Full namespace name: accepts 'client', 'dir1', 'rs2', 'sw' or a full name like 'uvs-rs2'. */
  ns(name: string): string {
    if (this.state.namespaces.includes(name)) return name;
    const full = `${this.prefix}-${name}`;
    if (this.state.namespaces.includes(full)) return full;
    throw new UvsError('UVS_LAB_BAD_NAMESPACE', `lab '${this.prefix}' has no namespace '${name}' (it has ${this.state.namespaces.join(', ')})`);
  }

  /** Run argv in a namespace (`ip netns exec`); resolves with stdout, throws LabExecError (UVS_LAB_EXEC). */
  async exec(ns: string, argv: string[], opts: LabExecOptions = {}): Promise<string> {
    this.assertOpen();
    const full = this.ns(ns);
    if (argv.length === 0) throw new UvsError('UVS_LAB_BAD_OPTION', 'exec: empty command');
    return run(['ip', 'netns', 'exec', full, ...argv], { ...opts, ns: full }).catch((e: unknown) => {
      if (e instanceof LabExecError) {
        // Report the command as the caller wrote it, with the namespace.
        throw new LabExecError('UVS_LAB_EXEC', argv, full, { exitCode: e.exitCode, signal: e.signal, stdout: e.stdout, stderr: e.stderr });
      }
      throw e;
    });
  }

  /** `ip -n NS args...` (e.g. lab.ip('dir1', ['-j', 'addr'])). */
  async ip(ns: string, args: string[], opts: LabExecOptions = {}): Promise<string> {
    this.assertOpen();
    const full = this.ns(ns);
    return run(['ip', '-n', full, ...args], { ...opts, ns: full });
  }

  /** Turn IPv4 and IPv6 forwarding on or off in a namespace. */
  async setForwarding(ns: string, on: boolean): Promise<void> {
    const v = on ? '1' : '0';
    await this.exec(ns, ['sysctl', '-q', '-w', `net.ipv4.ip_forward=${v}`, `net.ipv6.conf.all.forwarding=${v}`]);
  }

  /** Start a tracked long-running process in a namespace. */
  spawn(ns: string, argv: string[], opts: LabSpawnOptions = {}): LabProcess {
    this.assertOpen();
    const full = this.ns(ns);
    if (argv.length === 0) throw new UvsError('UVS_LAB_BAD_OPTION', 'spawn: empty command');
    const name = opts.name ?? `${full.slice(this.prefix.length + 1)}-${basename(argv[0]!)}-${++this.seq}`;
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new UvsError('UVS_LAB_BAD_OPTION', `spawn: process name '${name}' must be [A-Za-z0-9_.-]+`);
    const mode = opts.stdio ?? 'log';
    const detached = opts.detached ?? this.persistent;
    let log: string | null = null;
    let fd: number | null = null;
    let stdio: StdioOptions;
    if (mode === 'log') {
      mkdirSync(this.logDir, { recursive: true });
      log = join(this.logDir, `${name}.log`);
      fd = openSync(log, 'a');
      stdio = ['ignore', fd, fd];
    } else {
      stdio = mode === 'pipe' ? ['pipe', 'pipe', 'pipe'] : [mode === 'inherit' ? 'inherit' : 'ignore', mode, mode];
    }
    if (opts.readyFd) stdio = [...(stdio as unknown[]), 'pipe'] as StdioOptions;
    const wrapper = ['ip', 'netns', 'exec', full, ...argv];
    let child: ChildProcess;
    try {
      child = spawnChild(wrapper[0]!, wrapper.slice(1), { stdio, detached, env: opts.env, cwd: opts.cwd });
    } finally {
      if (fd !== null) closeSync(fd);
    }
    child.on('error', () => {}); // e.g. ENOENT: reported below or through `exited`
    if (child.pid === undefined) {
      throw new UvsError('UVS_LAB_SPAWN', `cannot start ${argv.join(' ')} in ${full}`);
    }
    const pid = child.pid;
    const rec: LabProcessRecord = {
      pid,
      starttime: procStartTime(pid),
      cmdlines: [wrapper.join('\0'), argv.join('\0')],
      group: detached,
      ns: full,
      name,
      argv,
      log,
    };
    this.state.processes.push(rec);
    this.save();

    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, sig) => {
        const i = this.state.processes.indexOf(rec);
        if (i >= 0 && !this.closed) {
          this.state.processes.splice(i, 1);
          this.save();
        }
        resolve({ code, signal: sig });
      });
      child.once('error', () => resolve({ code: null, signal: null }));
    });
    const ready = new Promise<string>((resolve, reject) => {
      const pipe = opts.readyFd ? (child.stdio[3] as NodeJS.ReadableStream | null) : null;
      if (!pipe) {
        resolve('');
        return;
      }
      let buf = '';
      pipe.setEncoding('utf8');
      pipe.on('data', (d: string) => {
        buf += d;
        const nl = buf.indexOf('\n');
        if (nl >= 0) {
          resolve(buf.slice(0, nl));
          (pipe as unknown as { destroy(): void }).destroy();
        }
      });
      pipe.on('error', () => {});
      void exited.then(({ code, signal: s }) => reject(new UvsError('UVS_LAB_SPAWN', `${name} in ${full} exited (${s ?? `code ${code}`}) before it was ready${log ? `; see ${log}` : ''}`)));
    });
    ready.catch(() => {}); // the caller may not look at it
    if (!(opts.ref ?? mode === 'pipe')) child.unref();
    const stop = async (timeoutMs = 2000): Promise<void> => {
      if (!sameProcess(rec)) return;
      signal(pid, 'SIGTERM', detached);
      const t = setTimeout(() => signal(pid, 'SIGKILL', detached), timeoutMs);
      await exited;
      clearTimeout(t);
    };
    return { pid, ns: full, name, argv, log, child, exited, ready, stop };
  }

  /** Run the lab probe (probe.js) in a namespace; one result (count 1). */
  async probe(ns: string, spec: ProbeSpec): Promise<ProbeResult> {
    const r = await this.probeAll(ns, { ...spec, count: 1 });
    return r[0]!;
  }

  /** Run the lab probe `count` times (sequentially) in a namespace. */
  async probeAll(ns: string, spec: ProbeSpec): Promise<ProbeResult[]> {
    const args: string[] = [spec.proto];
    if (spec.proto === 'http') {
      if (/^https?:\/\//.test(spec.host)) args.push(spec.host);
      else {
        const h = spec.host.includes(':') ? `[${spec.host}]` : spec.host;
        args.push(`http://${h}:${spec.port ?? 80}${spec.path ?? '/'}`);
      }
    } else {
      if (spec.port === undefined) throw new UvsError('UVS_LAB_BAD_OPTION', `probe ${spec.proto}: port required`);
      args.push(spec.host, String(spec.port));
    }
    if (spec.send !== undefined) args.push('--send', spec.send);
    if (spec.size !== undefined) args.push('--size', String(spec.size));
    if (spec.bind !== undefined) args.push('--bind', spec.bind);
    const timeoutMs = spec.timeoutMs ?? 3000;
    const count = spec.count ?? 1;
    args.push('--timeout', String(timeoutMs), '--count', String(count));
    let out: string;
    try {
      out = await this.exec(ns, [process.execPath, PROBE_PATH, ...args], { timeoutMs: count * (timeoutMs + 1000) + 5000 });
    } catch (e) {
      if (e instanceof LabExecError && e.exitCode === 1 && e.stdout.trim() !== '') out = e.stdout;
      else throw e;
    }
    return out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ProbeResult);
  }

  /** The processes this lab tracks (live copy of the state file's list). */
  processes(): LabProcessRecord[] {
    return this.state.processes.map((p) => ({ ...p }));
  }

  status(): Promise<LabStatus> {
    return labStatus(this.prefix, { runDir: this.runDir });
  }

  /** Stop every tracked process, delete the namespaces and the state file. Idempotent. */
  async down(): Promise<LabDownResult> {
    if (this.closed) return { prefix: this.prefix, namespaces: [], killed: [], forced: [] };
    this.close();
    const r = await driveAsync(teardownSteps(this.prefix, this.runDir, this.keepLogs, this.currentState()));
    if (r.remaining.length > 0) throw new UvsError('UVS_LAB_DOWN', `lab '${this.prefix}': could not delete namespaces ${r.remaining.join(', ')}`);
    const { remaining: _, ...result } = r;
    return result;
  }

  /** down(), synchronously (blocks up to a few seconds; never throws): for exit paths. */
  downSync(): LabDownResult {
    if (this.closed) return { prefix: this.prefix, namespaces: [], killed: [], forced: [] };
    this.close();
    const { remaining: _, ...result } = driveSync(teardownSteps(this.prefix, this.runDir, this.keepLogs, this.currentState()));
    return result;
  }

  private close(): void {
    this.closed = true;
    if (active.get(this.statePath) === this) active.delete(this.statePath);
    unhook();
  }

  /** The state file (it may hold processes another Lab handle recorded), else the in-memory copy. */
  private currentState(): LabState {
    try {
      const s = readState(this.prefix, this.runDir);
      if (s && s.createdAt === this.state.createdAt) {
        const pids = new Set(s.processes.map((p) => p.pid));
        return { ...s, processes: [...s.processes, ...this.state.processes.filter((p) => !pids.has(p.pid))] };
      }
    } catch {
      /* corrupt: use ours */
    }
    return this.state;
  }

  /** @internal */
  save(): void {
    if (!this.closed) writeState(this.state, this.runDir);
  }

  /** @internal */
  markBuilt(): void {
    this.state.building = false;
    this.state.description = this.description;
    if (this.persistent) this.state.owner = null;
    this.save();
    if (this.persistent) {
      if (active.get(this.statePath) === this) active.delete(this.statePath);
      unhook();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new UvsError('UVS_LAB_CLOSED', `lab '${this.prefix}' is down`);
  }
}

// --- buildLab ------------------------------------------------------------------------------

/**
 * Build a lab. Throws UvsError: UVS_LAB_PERMISSION (not root), UVS_LAB_BAD_OPTION,
 * UVS_LAB_EXISTS (a live lab of that prefix), UVS_LAB_EXEC (a command failed; everything
 * built so far is removed), UVS_LAB_SPAWN (a real server did not start).
 */
export async function buildLab(opts: LabOptions = {}): Promise<Lab> {
  const plan = planLab(opts);
  const o = plan.options;
  const d = plan.description;
  checkPrivileges();
  try {
    await run(['ip', '-V'], { code: 'UVS_LAB_NO_IPROUTE2' });
  } catch (e) {
    throw new UvsError('UVS_LAB_NO_IPROUTE2', `the lab needs iproute2's 'ip' command: ${(e as Error).message}`);
  }

  // Existing lab or leftovers of this prefix.
  const key = statePath(o.prefix, o.runDir);
  if (active.has(key)) {
    throw new UvsError('UVS_LAB_EXISTS', `lab '${o.prefix}' is already up in this process; call lab.down() first`);
  }
  const existing = readState(o.prefix, o.runDir);
  const present = await driveAsync(listNamespaces());
  const stray = present.filter((n) => isLabNamespace(o.prefix, n));
  if (existing !== null || stray.length > 0) {
    const ownerAlive =
      existing?.owner != null && sameProcess({ pid: existing.owner.pid, starttime: existing.owner.starttime, cmdlines: [] });
    const live = existing !== null && (existing.owner === null || ownerAlive);
    if (live && !o.replace) {
      const who = existing!.owner === null ? 'a persistent lab (uvs lab up)' : `owned by running process ${existing!.owner.pid}`;
      throw new UvsError(
        'UVS_LAB_EXISTS',
        `lab '${o.prefix}' is already up (${who}, state ${key}): run 'uvs lab down --prefix ${o.prefix}' first, or rebuild it with replace: true (CLI: --replace)`,
      );
    }
    await driveAsync(teardownSteps(o.prefix, o.runDir, false, existing));
    const again = (await driveAsync(listNamespaces())).filter((n) => isLabNamespace(o.prefix, n));
    if (again.length > 0) throw new UvsError('UVS_LAB_DOWN', `lab '${o.prefix}': cannot remove leftover namespaces ${again.join(', ')}`);
  }

  const state: LabState = {
    version: 1,
    prefix: o.prefix,
    createdAt: d.createdAt,
    owner: { pid: process.pid, starttime: procStartTime(process.pid) },
    building: true,
    namespaces: d.namespaces,
    processes: [],
    logDir: logDirPath(o.prefix, o.runDir),
    description: null,
  };
  const lab = new Lab(state, d, o.runDir, o.keepLogs, o.persistent);
  // Recorded before anything exists, so an interrupted build is cleaned up (here or later).
  writeState(state, o.runDir);
  active.set(key, lab);
  hook();

  try {
    await run(['ip', '-batch', '-'], { input: plan.netnsBatch.join('\n') + '\n' });
    await Promise.all(
      [...plan.sysctls].map(([ns, kv]) => run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-e', '-w', ...kv], { ns })),
    );
    const sw = d.router.ns;
    await run(['ip', '-n', sw, '-batch', '-'], { input: plan.switchBatch.join('\n') + '\n', ns: sw });
    await Promise.all([...plan.hostBatches].map(([ns, lines]) => run(['ip', '-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n', ns })));

    if (o.mode === 'tun') {
      const results = await Promise.all(d.servers.map((s) => tryTunl0(s.ns)));
      d.servers.forEach((s, i) => (s.tunl0 = results[i]!));
      d.ipip = results.every((x) => x);
    }
    if (!o.offloads) {
      const jobs: Promise<string>[] = [];
      for (const [ns, ifs] of plan.offloadIfaces) {
        for (const ifname of ifs) {
          jobs.push(run(['ip', 'netns', 'exec', ns, 'ethtool', '-K', ifname, 'rx', 'off', 'tx', 'off', 'sg', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off'], { ns }));
        }
      }
      await Promise.all(jobs);
    }
    if (o.startServers) {
      const procs = d.servers.map((s) =>
        lab.spawn(s.ns, [process.execPath, REAL_SERVER_PATH, '--name', s.name, '--ready-fd', '3'], { name: s.name, readyFd: true }),
      );
      await withTimeout(Promise.all(procs.map((p) => p.ready)), SERVER_READY_MS, 'UVS_LAB_SPAWN', `real servers not ready within ${SERVER_READY_MS} ms (logs in ${lab.logDir})`);
      d.serversStarted = true;
    }
    lab.markBuilt();
    return lab;
  } catch (e) {
    try {
      await lab.down();
    } catch {
      labDownSync(o.prefix, { runDir: o.runDir });
    }
    throw e;
  }
}

async function tryTunl0(ns: string): Promise<boolean> {
  try {
    await run(['ip', '-n', ns, 'link', 'add', 'tunl0', 'type', 'ipip'], { ns });
  } catch {
    // No ipip in the kernel ("Unknown device type"), or tunl0 exists already (module loaded).
    try {
      await run(['ip', '-n', ns, 'link', 'show', 'tunl0'], { ns });
    } catch {
      return false;
    }
  }
  try {
    await run(['ip', '-n', ns, 'link', 'set', 'tunl0', 'up'], { ns });
    await run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-e', '-w', 'net.ipv4.conf.tunl0.rp_filter=0'], { ns });
    return true;
  } catch {
    return false;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, code: string, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new UvsError(code, message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Is this PID alive (helper for tests/CLI). */
export { isAlive, procCmdline };
