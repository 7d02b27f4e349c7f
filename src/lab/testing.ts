// Helpers for tests that use the lab (test/lab/ and other suites): unique prefixes,
// namespace listings, liveness of recorded PIDs. Not used by the lab itself.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** A prefix unique to this test process (base-36 pid keeps it short for any pid_max). */
export function uniquePrefix(suffix: string): string {
  return `u${process.pid.toString(36)}${suffix}`;
}

/** Run a command synchronously, return stdout (throws on failure). */
export function sh(argv: string[]): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
}

export function netnsList(): string[] {
  return sh(['ip', 'netns', 'list'])
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

export function labNamespaces(prefix: string): string[] {
  return netnsList().filter((n) => n.startsWith(prefix + '-'));
}

/** Alive and not a zombie. */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export function lineDiff(before: string, after: string): { added: string[]; removed: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  return { added: b.filter((l) => !a.includes(l)), removed: a.filter((l) => !b.includes(l)) };
}

export function exists(path: string): boolean {
  return existsSync(path);
}

export function waitFor(cond: () => boolean, ms: number, step = 20): Promise<boolean> {
  const until = Date.now() + ms;
  return new Promise((resolve) => {
    const tick = (): void => {
      if (cond()) return resolve(true);
      if (Date.now() > until) return resolve(false);
      setTimeout(tick, step);
    };
    tick();
  });
}
