// The lab state file, /run/uvs/lab-<prefix>.json: the namespaces and every process a lab
// started (by PID, with start time and command line), so any process can tear it down.

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UvsError } from '../errors.js';
import type { LabState } from './types.js';

export function defaultRunDir(): string {
  return process.env['UVS_RUN_DIR'] ?? '/run/uvs';
}

export function statePath(prefix: string, runDir = defaultRunDir()): string {
  return join(runDir, `lab-${prefix}.json`);
}

export function logDirPath(prefix: string, runDir = defaultRunDir()): string {
  return join(runDir, `lab-${prefix}`);
}

export function readState(prefix: string, runDir = defaultRunDir()): LabState | null {
  const file = statePath(prefix, runDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UvsError('UVS_LAB_STATE', `cannot read lab state ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const s = JSON.parse(text) as LabState;
    if (s.version !== 1 || s.prefix !== prefix || !Array.isArray(s.namespaces) || !Array.isArray(s.processes)) {
      throw new Error('unexpected content');
    }
    return s;
  } catch (e) {
    throw new UvsError('UVS_LAB_STATE', `lab state ${file} is corrupt (${(e as Error).message}); remove it and run 'uvs lab down --prefix ${prefix}'`, {
      cause: e,
    });
  }
}

/** Atomic write (temporary file + rename), synchronous so it can run from an exit handler. */
export function writeState(state: LabState, runDir = defaultRunDir()): void {
  mkdirSync(runDir, { recursive: true, mode: 0o755 });
  const file = statePath(state.prefix, runDir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o644 });
  renameSync(tmp, file);
}

export function removeState(prefix: string, runDir = defaultRunDir(), keepLogs = false): void {
  rmSync(statePath(prefix, runDir), { force: true });
  if (!keepLogs) rmSync(logDirPath(prefix, runDir), { recursive: true, force: true });
}
