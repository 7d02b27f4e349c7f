// Boots the conformance guest once: `qemu-system-x86_64 -accel tcg` with no network device,
// the scenario's files as a tar on a virtio disk, and the guest's /out read back from the
// same disk after it powers off. Bounded by a timeout (the VM is killed by PID), one VM at
// a time per call, and its temporary directory removed afterwards.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import type { GuestImage } from './image.js';
import { ConformanceUnavailable } from './unavailable.js';

export interface GuestRun {
  /** Files the guest wrote under /out, by path relative to it. */
  files: Map<string, string>;
  /** The serial console (kernel messages and the init's progress lines). */
  console: string;
  /** Wall time from spawn to "uvs-guest: running" and to power-off. */
  bootMs: number;
  totalMs: number;
}

const QEMU = 'qemu-system-x86_64';
const DISK_BYTES = 64 << 20;
/**
 * qemu64 without cmpxchg16b: QEMU 7.2's TCG intermittently double-faults the 6.12 kernel in
 * SLUB's `this_cpu_cmpxchg16b` fast path during boot (seen with -cpu max and qemu64); without
 * CX16 the kernel takes its emulated path and boots every time.
 */
const CPU = 'qemu64,-cx16';

function qemuPresent(): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${QEMU}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) files.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  if (existsSync(dir)) walk(dir);
  return files;
}

/**
 * Runs `files` (must include run.sh) in the guest; rejects with ConformanceUnavailable if it
 * cannot boot or finish in `timeoutMs`. A guest that dies before reaching its scenario (an
 * emulation fault while booting) is booted once more.
 */
export async function runInGuest(image: GuestImage, files: Record<string, string>, timeoutMs: number, extraDisks: string[] = []): Promise<GuestRun> {
  try {
    return await bootOnce(image, files, timeoutMs, extraDisks);
  } catch (e) {
    if (!(e instanceof ConformanceUnavailable) || !e.message.startsWith(BOOT_FAILED)) throw e;
    return bootOnce(image, files, timeoutMs, extraDisks);
  }
}

const BOOT_FAILED = 'the guest died while booting';

async function bootOnce(image: GuestImage, files: Record<string, string>, timeoutMs: number, extraDisks: string[]): Promise<GuestRun> {
  if (!qemuPresent()) throw new ConformanceUnavailable(`${QEMU} is not installed (apt-get install qemu-system-x86)`);
  const dir = mkdtempSync(join(tmpdir(), 'uvs-conformance-'));
  try {
    const input = join(dir, 'in');
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(input, name)), { recursive: true });
      writeFileSync(join(input, name), text);
    }
    const disk = join(dir, 'disk.img');
    execFileSync('tar', ['cf', disk, '-C', input, '.']);
    if (statSync(disk).size > DISK_BYTES) throw new Error('scenario input larger than the guest disk');
    truncateSync(disk, DISK_BYTES);
    const consoleFile = join(dir, 'console.log');
    const args = [
      '-accel', 'tcg', '-cpu', process.env.UVS_CONFORMANCE_CPU ?? CPU, '-m', extraDisks.length ? '2048' : '768', '-smp', '1', '-nic', 'none', '-vga', 'none', '-display', 'none', '-monitor', 'none',
      '-no-reboot', '-serial', `file:${consoleFile}`,
      '-kernel', image.kernel, '-initrd', image.initrd,
      '-append', 'console=ttyS0 panic=-1 rdinit=/init loglevel=4 tsc=reliable',
      '-drive', `file=${disk},format=raw,if=virtio`,
      // Further disks read-only (/dev/vdb, ...): e.g. uvs itself for the same-guest benchmark.
      ...extraDisks.flatMap((d) => ['-drive', `file=${d},format=raw,if=virtio,readonly=on`]),
    ];
    const started = Date.now();
    const vm = spawn(QEMU, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    vm.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    let bootMs = 0;
    const poll = setInterval(() => {
      if (bootMs === 0 && existsSync(consoleFile) && readFileSync(consoleFile, 'utf8').includes('uvs-guest: running')) bootMs = Date.now() - started;
    }, 100);
    const timedOut = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        if (vm.pid !== undefined) process.kill(vm.pid, 'SIGKILL');
        resolve(true);
      }, timeoutMs);
      vm.on('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    clearInterval(poll);
    const totalMs = Date.now() - started;
    const consoleText = existsSync(consoleFile) ? readFileSync(consoleFile, 'utf8') : '';
    // Kept for a look after the fact (the VM's own directory goes away).
    writeFileSync(join(dirname(image.kernel), '..', 'last-console.log'), consoleText);
    if (bootMs === 0 && consoleText.includes('uvs-guest: running')) bootMs = totalMs;
    if (timedOut) {
      const where = consoleText.includes('uvs-guest: running') ? 'the scenario did not finish' : 'the guest did not boot';
      throw new ConformanceUnavailable(`${where} within ${Math.round(timeoutMs / 1000)} s (console tail: ${consoleText.slice(-400).replace(/\s+/g, ' ')})`);
    }
    if (!consoleText.includes('uvs-guest: running')) throw new ConformanceUnavailable(`${BOOT_FAILED}: ${stderr.trim()} ${consoleText.slice(-600).replace(/\s+/g, ' ')}`);
    if (!consoleText.includes('uvs-guest: done')) throw new ConformanceUnavailable(`the guest stopped before finishing: ${stderr.trim()} ${consoleText.slice(-600).replace(/\s+/g, ' ')}`);
    const output = join(dir, 'out');
    mkdirSync(output);
    execFileSync('tar', ['xf', disk, '-C', output], { stdio: 'ignore' });
    return { files: readTree(join(output, 'out')), console: consoleText, bootMs, totalMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
