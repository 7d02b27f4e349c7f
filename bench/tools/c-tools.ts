// The C tools of the benchmarks (bench/c/): compiled with the machine's cc into a
// temporary directory on first use in a run. The C generator floods frames faster than
// any forwarder under test; the C router is the "plain C AF_PACKET program" uvs's router is
// compared with; the C connections client drives the harness's new-connection scenarios
// for little CPU of its own.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../../bench/c/', import.meta.url));

export interface CTools {
  blast: string;
  router: string;
  conn: string;
}

let built: CTools | undefined;

export function cTools(): CTools {
  if (built) return built;
  const dir = mkdtempSync(join(tmpdir(), 'uvs-bench-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const out: CTools = { blast: join(dir, 'afp-blast'), router: join(dir, 'afp-router'), conn: join(dir, 'conn-blast') };
  execFileSync('cc', ['-O2', '-Wall', '-o', out.blast, join(SRC, 'afp-blast.c')]);
  execFileSync('cc', ['-O2', '-Wall', '-o', out.router, join(SRC, 'afp-router.c')]);
  execFileSync('cc', ['-O2', '-Wall', '-o', out.conn, join(SRC, 'conn-blast.c')]);
  built = out;
  return out;
}
