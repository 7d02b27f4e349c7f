// The conformance guest image: a kernel and a gzipped initramfs built from Debian packages
// only (linux-image cloud-amd64 from bookworm-backports for its ip_vs_twos, busybox-static,
// ipvsadm with libnl/libpopt, iproute2, nftables), plus the packet injector compiled on the
// host with `gcc -static`. Cached under .cache/conformance/ (or $UVS_CONFORMANCE_CACHE),
// keyed by the package versions and a hash of the guest's own files, so a machine builds it
// once; apt uses private source lists and state so the host's apt setup is not touched.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConformanceUnavailable } from './unavailable.js';

/** The repository root (dist/test/conformance/harness → four levels up). */
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
/** Guest sources live next to the TypeScript (not copied to dist). */
export const GUEST_SOURCES = join(REPO, 'test/conformance/guest');

export interface GuestImage {
  kernel: string;
  initrd: string;
  /** Package name → version, as built. */
  versions: Record<string, string>;
  /** Whether this call built the image (false: taken from the cache). */
  built: boolean;
  buildMs: number;
}

const MIRROR = 'http://deb.debian.org/debian';
const SUITES: Record<'userland' | 'kernel', string> = {
  userland: `deb ${MIRROR} bookworm main\ndeb ${MIRROR} bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n`,
  kernel: `deb ${MIRROR} bookworm-backports main\n`,
};
const USERLAND = ['busybox-static', 'ipvsadm', 'libnl-3-200', 'libnl-genl-3-200', 'libpopt0', 'iproute2', 'nftables', 'libnftables1'];
const KERNEL_META = 'linux-image-cloud-amd64';
/** Modules the guest loads (dependencies are added in order). */
const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'];
const MODULES = ['virtio_blk', 'veth', 'ip_vs', ...SCHEDULERS.map((s) => `ip_vs_${s}`), 'ip_vs_pe_sip', 'nf_tables',
  // What uvs's kernel isolation rules use (for uvs running in the guest: bench/harness/ipvs-tcg.ts).
  'nft_fib_inet', 'nft_reject_inet'];
/** Binaries copied in with their shared libraries (path inside the unpacked packages). */
const BINARIES = ['sbin/ipvsadm', 'bin/ip', 'usr/sbin/nft'];

export function cacheRoot(): string {
  return process.env.UVS_CONFORMANCE_CACHE ?? join(REPO, '.cache/conformance');
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, ...opts });
}

function has(cmd: string): boolean {
  try {
    run('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}

/** apt-get/apt-cache with a private sources list and state under the cache (the host's apt is left alone). */
function aptOptions(cache: string, which: 'userland' | 'kernel'): string[] {
  const dir = join(cache, 'apt', which);
  mkdirSync(join(dir, 'lists', 'partial'), { recursive: true });
  mkdirSync(join(dir, 'cache'), { recursive: true });
  writeFileSync(join(dir, 'sources.list'), SUITES[which]);
  return ['-o', `Dir::Etc::sourcelist=${join(dir, 'sources.list')}`, '-o', 'Dir::Etc::sourceparts=-', '-o', `Dir::State::Lists=${join(dir, 'lists')}`, '-o', `Dir::Cache=${join(dir, 'cache')}`, '-o', 'APT::Get::List-Cleanup=0', '-o', 'Debug::NoLocking=1'];
}

function candidateVersion(opts: string[], pkg: string): string {
  const text = run('apt-cache', [...opts, 'show', '--no-all-versions', pkg]);
  const m = /^Version: (.+)$/m.exec(text);
  if (!m) throw new Error(`no version for ${pkg}`);
  return m[1]!;
}

/** Package versions as the package lists name them now (apt-get update first, quietly). */
function resolveVersions(cache: string): { versions: Record<string, string>; kernelPackage: string } {
  const versions: Record<string, string> = {};
  const user = aptOptions(cache, 'userland');
  const kern = aptOptions(cache, 'kernel');
  run('apt-get', [...user, '-qq', 'update']);
  run('apt-get', [...kern, '-qq', 'update']);
  for (const p of USERLAND) versions[p] = candidateVersion(user, p);
  const meta = run('apt-cache', [...kern, 'show', '--no-all-versions', KERNEL_META]);
  const dep = /^Depends: (linux-image-[^\s,]+)/m.exec(meta);
  if (!dep) throw new Error(`${KERNEL_META}: no linux-image dependency`);
  const kernelPackage = dep[1]!;
  versions[kernelPackage] = candidateVersion(kern, kernelPackage);
  return { versions, kernelPackage };
}

function guestInputsHash(): string {
  const h = createHash('sha256');
  for (const f of ['init.sh', 'inject.c']) h.update(readFileSync(join(GUEST_SOURCES, f)));
  h.update(readFileSync(fileURLToPath(import.meta.url)));
  return h.digest('hex').slice(0, 12);
}

function keyOf(versions: Record<string, string>): string {
  const text = Object.entries(versions).sort(([a], [b]) => a.localeCompare(b)).map(([p, v]) => `${p}=${v}`).join('\n');
  return `${createHash('sha256').update(text).update(guestInputsHash()).digest('hex').slice(0, 16)}`;
}

/** The newest complete image in the cache made from the current guest sources (used when apt is unreachable). */
function newestCached(cache: string): string | undefined {
  if (!existsSync(cache)) return undefined;
  const inputs = guestInputsHash();
  const dirs = readdirSync(cache)
    .filter((d) => d.startsWith('image-') && existsSync(join(cache, d, 'manifest.json')))
    .filter((d) => (JSON.parse(readFileSync(join(cache, d, 'manifest.json'), 'utf8')) as { inputs?: string }).inputs === inputs)
    .map((d) => join(cache, d));
  dirs.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return dirs[0];
}

function imageAt(dir: string, built: boolean, buildMs: number): GuestImage {
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { versions: Record<string, string> };
  return { kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.gz'), versions: m.versions, built, buildMs };
}

/** The `depends=` list of a kernel module (its .modinfo strings). */
function moduleDepends(ko: Buffer): string[] {
  const text = ko.toString('latin1');
  const at = text.indexOf('\0depends=');
  if (at < 0) return [];
  const value = text.slice(at + 9, text.indexOf('\0', at + 9));
  return value ? value.split(',') : [];
}

/** Decompresses the wanted modules into `dest` and returns their load order (dependencies first). */
function stageModules(root: string, dest: string): string[] {
  const kdir = join(root, 'lib/modules');
  const release = readdirSync(kdir)[0]!;
  const byName = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ko(\.xz|\.zst)?$/.test(e.name)) byName.set(e.name.replace(/\.ko(\.xz|\.zst)?$/, '').replace(/-/g, '_'), p);
    }
  };
  walk(kdir);
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string): void => {
    const key = name.replace(/-/g, '_');
    if (seen.has(key)) return;
    seen.add(key);
    const file = byName.get(key);
    if (!file) return; // built into the kernel
    const ko = file.endsWith('.xz') ? execFileSync('xz', ['-dc', file], { maxBuffer: 64 << 20 }) : file.endsWith('.zst') ? execFileSync('zstd', ['-dc', file], { maxBuffer: 64 << 20 }) : readFileSync(file);
    for (const dep of moduleDepends(ko)) visit(dep);
    writeFileSync(join(dest, `${key}.ko`), ko);
    order.push(`${key}.ko`);
  };
  for (const m of MODULES) visit(m);
  return order;
}

/** Copies a binary and the shared libraries ldd resolves for it (the unpacked packages' first, then the host's). */
function stageBinary(root: string, rel: string, image: string): void {
  const src = join(root, rel);
  const dest = join(image, 'usr/sbin', basename(rel));
  copyFileSync(src, dest);
  const libPath = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu'].map((d) => join(root, d)).join(':');
  const out = run('ldd', [src], { env: { ...process.env, LD_LIBRARY_PATH: libPath } });
  for (const line of out.split('\n')) {
    const m = /=>\s+(\S+)\s+\(/.exec(line) ?? /^\s+(\/\S+)\s+\(/.exec(line);
    if (!m) {
      if (/not found/.test(line)) throw new Error(`${rel}: ${line.trim()}`);
      continue;
    }
    const lib = m[1]!;
    const target = lib.includes('ld-linux') ? join(image, 'lib64', basename(lib)) : join(image, 'lib/x86_64-linux-gnu', basename(lib));
    mkdirSync(dirname(target), { recursive: true });
    if (!existsSync(target)) copyFileSync(realpathSync(lib), target);
  }
}

function build(cache: string, key: string, versions: Record<string, string>, kernelPackage: string): string {
  const work = join(cache, `build-${key}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  const debs = join(work, 'debs');
  const root = join(work, 'root');
  const image = join(work, 'image');
  for (const d of [debs, root, image]) mkdirSync(d, { recursive: true });
  try {
    run('apt-get', [...aptOptions(cache, 'userland'), '-qq', 'download', ...USERLAND.map((p) => `${p}=${versions[p]}`)], { cwd: debs });
    run('apt-get', [...aptOptions(cache, 'kernel'), '-qq', 'download', `${kernelPackage}=${versions[kernelPackage]}`], { cwd: debs });
    for (const deb of readdirSync(debs)) run('dpkg-deb', ['-x', join(debs, deb), root]);

    for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'lib/x86_64-linux-gnu', 'lib64', 'proc', 'sys', 'dev', 'modules', 'etc', 'run', 'tmp']) mkdirSync(join(image, d), { recursive: true });
    copyFileSync(join(root, 'bin/busybox'), join(image, 'bin/busybox'));
    copyFileSync(join(GUEST_SOURCES, 'init.sh'), join(image, 'init'));
    for (const b of BINARIES) stageBinary(root, b, image);
    run('gcc', ['-static', '-O2', '-Wall', '-o', join(image, 'usr/sbin/inject'), join(GUEST_SOURCES, 'inject.c')]);
    writeFileSync(join(image, 'modules.order'), stageModules(root, join(image, 'modules')).join('\n') + '\n');
    // ipvsadm reads /etc/services for -L without -n; the guest always lists with -n, but nft wants its config dir.
    writeFileSync(join(image, 'etc/services'), '');
    run('chmod', ['-R', 'a+rX', image]);
    run('chmod', ['+x', join(image, 'init'), join(image, 'bin/busybox'), join(image, 'usr/sbin/inject')]);

    const kernel = readdirSync(join(root, 'boot')).find((f) => f.startsWith('vmlinuz-'))!;
    const out = join(cache, `image-${key}`);
    mkdirSync(`${out}.tmp`, { recursive: true });
    copyFileSync(join(root, 'boot', kernel), join(`${out}.tmp`, 'vmlinuz'));
    // busybox cpio (from the package just unpacked) writes the newc archive the kernel unpacks.
    run('sh', ['-c', `find . | "${join(root, 'bin/busybox')}" cpio -o -H newc 2>/dev/null | gzip -1 > "${join(`${out}.tmp`, 'initrd.gz')}"`], { cwd: image });
    writeFileSync(join(`${out}.tmp`, 'manifest.json'), JSON.stringify({ versions, inputs: guestInputsHash(), kernel }, null, 2));
    rmSync(out, { recursive: true, force: true });
    renameSync(`${out}.tmp`, out);
    // Older images (other package versions or guest sources) are not needed any more.
    for (const d of readdirSync(cache)) if (d.startsWith('image-') && !d.endsWith('.tmp') && join(cache, d) !== out) rmSync(join(cache, d), { recursive: true, force: true });
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The guest image: from the cache when one for the current package versions exists, else
 * built (a minute or so). Throws ConformanceUnavailable when there is no cached image and
 * the packages or tools to build one are out of reach.
 */
export function guestImage(): GuestImage {
  const cache = cacheRoot();
  mkdirSync(cache, { recursive: true });
  const started = Date.now();
  for (const tool of ['apt-get', 'dpkg-deb', 'gcc', 'xz', 'gzip', 'ldd']) {
    if (!has(tool)) {
      const cached = newestCached(cache);
      if (cached) return imageAt(cached, false, 0);
      throw new ConformanceUnavailable(`cannot build the guest image: ${tool} is missing and no image is cached in ${cache}`);
    }
  }
  let resolved: ReturnType<typeof resolveVersions>;
  try {
    resolved = resolveVersions(cache);
  } catch (e) {
    const cached = newestCached(cache);
    if (cached) return imageAt(cached, false, 0);
    throw new ConformanceUnavailable(`no cached guest image and the Debian package lists are out of reach (${(e as Error).message.split('\n')[0]})`);
  }
  const key = keyOf(resolved.versions);
  const dir = join(cache, `image-${key}`);
  if (existsSync(join(dir, 'manifest.json'))) return imageAt(dir, false, 0);
  try {
    return imageAt(build(cache, key, resolved.versions, resolved.kernelPackage), true, Date.now() - started);
  } catch (e) {
    throw new ConformanceUnavailable(`guest image build failed: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}`);
  }
}
