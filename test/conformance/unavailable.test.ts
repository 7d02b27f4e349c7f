// When the kernel oracle cannot run (here: no tools on PATH, so no qemu, no apt-get, and an
// empty image cache), `npm run conformance` says why and skips (exit 0) on a developer
// machine, and fails (exit 1) in CI.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

function conformance(ci: boolean): { code: number | null; out: string } {
  const cache = mkdtempSync(join(tmpdir(), 'uvs-conformance-empty-'));
  try {
    const env: NodeJS.ProcessEnv = { PATH: '/nonexistent', UVS_CONFORMANCE_CACHE: cache, ...(ci ? { CI: '1' } : {}) };
    const r = spawnSync(process.execPath, [MAIN], { env, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, out: r.stdout + r.stderr };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

t.test('no qemu, no cached image, no package access: a skip with the reason locally', async (t) => {
  const r = conformance(false);
  t.equal(r.code, 0, 'exit 0');
  t.match(r.out, /^conformance skipped: cannot build the guest image: \S+ is missing and no image is cached in /m, 'says why');
});

t.test('the same in CI (CI=1): a failure', async (t) => {
  const r = conformance(true);
  t.equal(r.code, 1, 'exit 1');
  t.match(r.out, /^conformance FAILED: cannot build the guest image/m, 'says why');
});
