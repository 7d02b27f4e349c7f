// External program check: keepalived's MISC_CHECK (check/check_misc.c) and nanny's
// send_program (lvs-cf.md §8.2).
//
// The command line is split like a shell word list ('...', "...", backslash) but run
// without a shell; in each word %h becomes the server's address and %p its port. stdin is
// /dev/null. The program runs in its own process group; at the timeout (or the caller's
// abort) the whole group gets SIGKILL and is waited for, so nothing is left behind.
//
//   exit 0            up
//   exit 1..255       down ("exit N"), except with misc_dynamic:
//   exit 2..255       up, weight = N - 2 (keepalived misc_dynamic; exit 1 is still down)
// With an `expect` (lvs.cf send_program + expect), the program must also exit 0 and print
// exactly `expect` (its last newline dropped). nanny 0.8.6 counted a timed-out or failing
// program as up in that case; uvs counts it as down.

import { spawn, type ChildProcess } from 'node:child_process';
import type { HealthCheck } from '../../config/model.js';
import type { CheckResult, CheckTarget, Checker } from '../checker.js';
import { endpointOf, errorReason, quote, runCheck, timeoutOf, type CheckRun, type Verdict } from './common.js';

/** nanny reads at most this much of the program's output. */
const OUTPUT_CAP = 4095;
/** After a SIGKILL, how long to wait for the exit before reporting anyway. */
const KILL_GRACE_MS = 1000;
/** After the exit, how long to wait for output still in the pipe. */
const OUTPUT_GRACE_MS = 100;

/** Words of a command line, as sh would split it (no expansions); a string says why it cannot be split. */
export function splitCommandLine(text: string): string[] | string {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return `unterminated ' in command line ${quote(text)}`;
      word += text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        // Inside double quotes a backslash escapes only $ ` " \ and newline.
        if (text[j] === '\\' && j + 1 < text.length && '$`"\\\n'.includes(text[j + 1]!)) j++;
        word += text[j];
      }
      if (j >= text.length) return `unterminated " in command line ${quote(text)}`;
      i = j;
    } else if (c === '\\') {
      if (i + 1 < text.length) word += text[++i];
    } else word += c;
  }
  if (inWord) words.push(word);
  if (words.length === 0) return 'empty command line';
  return words;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The program could not be started. */
  error?: Error;
}

export class ExternalChecker implements Checker {
  readonly kind = 'external';
  private readonly argv: string[] | string;
  private readonly dynamic: boolean;

  constructor(private readonly spec: HealthCheck) {
    this.argv = splitCommandLine(spec.program ?? '');
    this.dynamic = spec.extra?.misc_dynamic === 'true';
  }

  run(target: CheckTarget, signal: AbortSignal): Promise<CheckResult> {
    return runCheck(timeoutOf(this.spec), signal, async (run) => {
      if (typeof this.argv === 'string') return { ok: false, reason: this.argv };
      const to = endpointOf(this.spec, target);
      const argv = this.argv.map((w) => w.replace(/%h/g, to.address).replace(/%p/g, String(to.port)));
      return this.execute(run, argv);
    });
  }

  private async execute(run: CheckRun, argv: string[]): Promise<Verdict> {
    const program = argv[0]!;
    // detached: a new session and process group, so a timeout kills the program's children too.
    const child = spawn(program, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    const exited = new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
    });
    const output = collectOutput(child);
    run.onEnd(() => {
      killGroup(child);
      child.stdout?.destroy();
    });
    let stopped: string | undefined;
    const onAbort = (): void => {
      stopped = run.stoppedReason('waiting for the program');
      killGroup(child);
    };
    run.signal.addEventListener('abort', onAbort, { once: true });
    // A killed program is waited for (reaped) before the check reports, within a bound.
    const exit = await untilKilledOrGrace(run, exited);
    run.signal.removeEventListener('abort', onAbort);
    if (exit.error !== undefined) return { ok: false, reason: spawnFailure(program, exit.error) };
    if (stopped !== undefined) return { ok: false, reason: exit.code === null && exit.signal === null ? `${stopped} (killed, not yet exited)` : stopped };
    if (exit.signal !== null) return { ok: false, reason: `killed by ${exit.signal}` };
    const code = exit.code ?? -1;
    if (this.spec.expect !== undefined) {
      if (code !== 0) return { ok: false, reason: `exit ${code}` };
      const printed = (await output.settled(run)).toString('utf8').replace(/\n$/, '');
      return printed === this.spec.expect ? { ok: true, reason: 'output matches' } : { ok: false, reason: `output ${quote(printed)} (expected ${quote(this.spec.expect)})` };
    }
    if (code === 0) return { ok: true, reason: 'exit 0' };
    if (this.dynamic && code >= 2 && code <= 255) return { ok: true, reason: `exit ${code}: weight ${code - 2}`, weight: code - 2 };
    const said = (await output.settled(run)).toString('utf8').trim().split('\n')[0] ?? '';
    return { ok: false, reason: said === '' ? `exit ${code}` : `exit ${code} (${quote(said)})` };
  }
}

/** Resolves like `exited`, but once the run is aborted no later than KILL_GRACE_MS after. */
function untilKilledOrGrace(run: CheckRun, exited: Promise<Exit>): Promise<Exit> {
  return new Promise((resolve) => {
    const notExited: Exit = { code: null, signal: null };
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      timer = setTimeout(() => resolve(notExited), KILL_GRACE_MS);
    };
    if (run.signal.aborted) onAbort();
    else run.signal.addEventListener('abort', onAbort, { once: true });
    void exited.then((exit) => {
      clearTimeout(timer);
      run.signal.removeEventListener('abort', onAbort);
      resolve(exit);
    });
  });
}

/** SIGKILL to the program's process group (it leads its own), if it still runs. */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone between the check and the kill.
  }
}

function spawnFailure(program: string, error: Error): string {
  const code = (error as { code?: string }).code;
  if (code === 'ENOENT') return `program not found: ${program}`;
  if (code === 'EACCES') return `program not executable: ${program}`;
  return `cannot run ${program}: ${errorReason(error)}`;
}

/** The program's stdout, first OUTPUT_CAP bytes kept, the rest drained so it never blocks on a full pipe. */
function collectOutput(child: ChildProcess): { settled(run: CheckRun): Promise<Buffer> } {
  const chunks: Buffer[] = [];
  let kept = 0;
  let closed = false;
  const waiters: (() => void)[] = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    if (kept >= OUTPUT_CAP) return;
    chunks.push(chunk.subarray(0, OUTPUT_CAP - kept));
    kept += Math.min(chunk.length, OUTPUT_CAP - kept);
  });
  child.stdout?.on('error', () => {});
  child.stdout?.once('close', () => {
    closed = true;
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    // After the exit: what the pipe still holds, unless a child of the program keeps it open.
    async settled(run: CheckRun): Promise<Buffer> {
      if (!closed && !run.signal.aborted) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, OUTPUT_GRACE_MS);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return Buffer.concat(chunks);
    },
  };
}
