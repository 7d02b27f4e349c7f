// Small system helpers for the lab: running `ip`/`sysctl`/`ethtool` (async and sync: the
// teardown on 'exit' must be synchronous), process identity through /proc, privilege check.

import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { UvsError } from '../errors.js';

/** A helper command failed. Carries the command, its exit status and its stderr. */
export class LabExecError extends UvsError {
  readonly argv: string[];
  readonly ns: string | null;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  constructor(
    code: string,
    argv: string[],
    ns: string | null,
    r: { exitCode: number | null; signal: string | null; stdout: string; stderr: string; message?: string },
  ) {
    const where = ns === null ? '' : ` in namespace ${ns}`;
    const how = r.message ?? (r.signal ? `killed by ${r.signal}` : `exit code ${r.exitCode}`);
    const err = r.stderr.trim();
    super(code, `command failed${where}: ${argv.map(shellQuote).join(' ')} (${how})${err ? `: ${err}` : ''}`);
    this.name = 'LabExecError';
    this.argv = argv;
    this.ns = ns;
    this.exitCode = r.exitCode;
    this.signal = r.signal;
    this.stdout = r.stdout;
    this.stderr = r.stderr;
  }
}

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  /** For error messages: the namespace the command runs in. */
  ns?: string | null;
  /** Error code on failure. Default UVS_LAB_EXEC. */
  code?: string;
  env?: NodeJS.ProcessEnv;
}

const MAX_BUFFER = 64 * 1024 * 1024;

/** Run a command, resolve with its stdout; reject with LabExecError on failure. */
export function run(argv: string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    const child = execFile(
      cmd!,
      args,
      { encoding: 'utf8', maxBuffer: MAX_BUFFER, timeout: opts.timeoutMs ?? 30_000, killSignal: 'SIGKILL', env: opts.env },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: string };
        const message =
          e.code === 'ENOENT' ? `${cmd}: not found` : e.killed && e.signal === 'SIGKILL' ? `timed out after ${opts.timeoutMs ?? 30_000} ms` : undefined;
        reject(
          new LabExecError(opts.code ?? 'UVS_LAB_EXEC', argv, opts.ns ?? null, {
            exitCode: typeof e.code === 'number' ? e.code : null,
            signal: e.signal ?? null,
            stdout: String(stdout ?? ''),
            stderr: String(stderr ?? ''),
            ...(message === undefined ? {} : { message }),
          }),
        );
      },
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

export interface SyncResult {
  ok: boolean;
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Synchronous run that never throws (for teardown on 'exit'). */
export function runSync(argv: string[], opts: { input?: string; timeoutMs?: number } = {}): SyncResult {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd!, args, {
    encoding: 'utf8',
    input: opts.input,
    timeout: opts.timeoutMs ?? 10_000,
    killSignal: 'SIGKILL',
    maxBuffer: MAX_BUFFER,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return { ok: r.status === 0 && !r.error, status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
export function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// --- process identity ---------------------------------------------------------------------

/** Field 22 (starttime, clock ticks since boot) of /proc/PID/stat, or null if gone. */
export function procStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and ')': fields after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); starttime is field 22 → rest[19].
    const state = rest[0];
    if (state === 'Z' || state === 'X') return null; // a zombie is as good as gone
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

export function procCmdline(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '');
  } catch {
    return null;
  }
}

/** Is `pid` alive and still the process recorded (same start time, or same command line)? */
export function sameProcess(rec: { pid: number; starttime: string | null; cmdlines: string[] }): boolean {
  if (!Number.isInteger(rec.pid) || rec.pid <= 1) return false;
  const st = procStartTime(rec.pid);
  if (st === null) return false;
  if (rec.starttime !== null) return st === rec.starttime;
  const cmd = procCmdline(rec.pid);
  return cmd !== null && rec.cmdlines.includes(cmd);
}

export function isAlive(pid: number): boolean {
  return procStartTime(pid) !== null;
}

export function signal(pid: number, sig: NodeJS.Signals, group = false): boolean {
  try {
    process.kill(group ? -pid : pid, sig);
    return true;
  } catch {
    if (group) return signal(pid, sig, false);
    return false;
  }
}

// --- privileges ---------------------------------------------------------------------------

const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;

/** Throw UVS_LAB_PERMISSION unless we can create namespaces (root, or CAP_NET_ADMIN + CAP_SYS_ADMIN). */
export function checkPrivileges(): void {
  if (process.getuid?.() === 0) return;
  let eff = 0n;
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) eff = BigInt('0x' + m[1]);
  } catch {
    /* not Linux */
  }
  const has = (bit: number) => (eff >> BigInt(bit)) & 1n;
  if (has(CAP_NET_ADMIN) && has(CAP_SYS_ADMIN)) return;
  throw new UvsError(
    'UVS_LAB_PERMISSION',
    'the lab needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN, to create network namespaces, veths and bridges): run it as root, e.g. with sudo',
  );
}
