// The benchmark's kernel-IPVS row (issue 8): the new-connections scenario for kernel IPVS
// NAT and for uvs NAT inside the same QEMU TCG guest (the conformance guest image), as a
// same-guest ratio. Emulation distorts costs (30–70× slower than native, and not evenly:
// kernel code and JIT-compiled JavaScript suffer differently), so the ratio is indicative
// only. uvs runs in the guest from a read-only ext4 disk (the cloud kernel has no 9p): the
// host's node with its libraries, this tree's dist/, node_modules and native addon, and a
// static connect/accept tool (test/conformance/guest/cps.c). One connection at a time from
// one client to three real servers (rr), for `seconds` per balancer after a warm-up.
//
//   node dist/bench/harness/ipvs-tcg.js [--seconds S]     (npm run bench -- --ipvs-tcg)

import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guestImage, GUEST_SOURCES } from '../../test/conformance/harness/image.js';
import { runInGuest } from '../../test/conformance/harness/vm.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const VIP = '198.18.0.100';
const SERVERS = ['198.19.0.11', '198.19.0.12', '198.19.0.13'];

export interface IpvsTcgResult {
  seconds: number;
  kernel: { ok: number; failed: number; cps: number };
  uvs: { ok: number; failed: number; cps: number };
  /** uvs cps / kernel cps. */
  ratio: number;
  guestMs: number;
}

/** An ext4 image holding node (+ its libraries), this tree's runtime files and the cps tool. */
function uvsDisk(dir: string): string {
  const root = join(dir, 'root');
  for (const d of ['bin', 'lib', 'repo/native/build/Release']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(process.execPath, join(root, 'bin/node'));
  for (const line of execFileSync('ldd', [process.execPath], { encoding: 'utf8' }).split('\n')) {
    const m = /=>\s+(\S+)\s+\(/.exec(line);
    if (m) copyFileSync(m[1]!, join(root, 'lib', basename(m[1]!)));
  }
  execFileSync('gcc', ['-static', '-O2', '-o', join(root, 'bin/cps'), join(GUEST_SOURCES, 'cps.c')]);
  copyFileSync(join(REPO, 'package.json'), join(root, 'repo/package.json'));
  cpSync(join(REPO, 'dist/src'), join(root, 'repo/dist/src'), { recursive: true });
  cpSync(join(REPO, 'node_modules'), join(root, 'repo/node_modules'), { recursive: true, dereference: true });
  copyFileSync(join(REPO, 'native/build/Release/uvs_frameio.node'), join(root, 'repo/native/build/Release/uvs_frameio.node'));
  const img = join(dir, 'uvs.ext4');
  execFileSync('mke2fs', ['-q', '-t', 'ext4', '-d', root, '-L', 'uvs', img, '600M']);
  return img;
}

function guestScript(seconds: number): string {
  const forward = { interfaces: ['pub', 'priv'], owned: ['198.19.0.254'], services: [{ protocol: 'tcp', address: VIP, port: 80, scheduler: 'rr', servers: SERVERS.map((a) => ({ address: a, port: 80, method: 'nat' })) }] };
  return `set -u
IP=/usr/sbin/ip
sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
mkdir -p /mnt/uvs && mount -t ext4 -o ro /dev/vdb /mnt/uvs
$IP link set lo up
$IP netns add c; $IP netns add s
$IP link add pub type veth peer name cli; $IP link add priv type veth peer name srv
$IP link set cli netns c; $IP link set srv netns s
$IP -n c link set lo up; $IP -n s link set lo up
$IP -n c addr add 198.18.0.10/24 dev cli; $IP -n c link set cli up
${SERVERS.map((a) => `$IP -n s addr add ${a}/24 dev srv`).join('; ')}; $IP -n s link set srv up; $IP -n s route add default via 198.19.0.254
$IP addr add 198.18.0.2/24 dev pub; $IP addr add 198.19.0.2/24 dev priv; $IP link set pub up; $IP link set priv up
sysctl -qw net.ipv4.ip_forward=1
$IP netns exec s /mnt/uvs/bin/cps serve 80 &
sleep 1

# kernel IPVS NAT: the VIP and the servers' gateway on the director
$IP addr add ${VIP}/32 dev pub; $IP addr add 198.19.0.254/24 dev priv
ipvsadm -A -t ${VIP}:80 -s rr
${SERVERS.map((a) => `ipvsadm -a -t ${VIP}:80 -r ${a}:80 -m`).join('\n')}
$IP netns exec c /mnt/uvs/bin/cps connect ${VIP} 80 2 >/out/kernel-warmup
$IP netns exec c /mnt/uvs/bin/cps connect ${VIP} 80 ${seconds} >/out/kernel-nat
ipvsadm -L -n --stats >/out/kernel-stats
ipvsadm -C; $IP addr del ${VIP}/32 dev pub; $IP addr del 198.19.0.254/24 dev priv
sleep 1

# uvs NAT (uvs forward, one worker): it owns the VIP and the gateway address
cat >/tmp/forward.json <<'JSON'
${JSON.stringify(forward)}
JSON
cd /mnt/uvs/repo
PATH=/usr/sbin:/usr/bin:/sbin:/bin LD_LIBRARY_PATH=/mnt/uvs/lib /mnt/uvs/bin/node dist/src/cli/uvs.js forward --config /tmp/forward.json --workers 1 >/out/uvs-forward.out 2>/out/uvs-forward.err &
uvs=$!
i=0; while ! grep -q 'worker(s) on' /out/uvs-forward.err && kill -0 $uvs 2>/dev/null && [ $i -lt 600 ]; do sleep 0.2; i=$((i + 1)); done
echo "uvs ready after $((i / 5)) s" >/out/uvs-ready
$IP netns exec c /mnt/uvs/bin/cps connect ${VIP} 80 2 >/out/uvs-warmup
$IP netns exec c /mnt/uvs/bin/cps connect ${VIP} 80 ${seconds} >/out/uvs-nat
kill $uvs; wait $uvs
cd /
`;
}

function parse(text: string | undefined): { ok: number; failed: number; cps: number } {
  const m = /ok (\d+) failed (\d+) seconds ([\d.]+)/.exec(text ?? '');
  if (!m) return { ok: 0, failed: 0, cps: 0 };
  return { ok: Number(m[1]), failed: Number(m[2]), cps: Number(m[1]) / Number(m[3]) };
}

export async function runIpvsTcg(seconds = 10, log: (l: string) => void = () => {}): Promise<IpvsTcgResult> {
  const image = guestImage();
  const dir = mkdtempSync(join(tmpdir(), 'uvs-ipvs-tcg-'));
  try {
    const disk = uvsDisk(dir);
    log(`uvs disk ready; booting the guest (${seconds} s per balancer)`);
    const g = await runInGuest(image, { 'run.sh': guestScript(seconds) }, 900_000, [disk]);
    const kernel = parse(g.files.get('kernel-nat'));
    const uvs = parse(g.files.get('uvs-nat'));
    if (uvs.ok === 0) log(`uvs forward: ${(g.files.get('uvs-forward.err') ?? '').slice(-800)}`);
    if (kernel.ok === 0) log(`guest files: ${[...g.files.keys()].join(' ')}; kernel: ${g.files.get('kernel-nat') ?? ''} ${g.files.get('kernel-warmup') ?? ''}; log: ${(g.files.get('run.log') ?? '').slice(-1500)}`);
    log((g.files.get('uvs-ready') ?? '').trim());
    return { seconds, kernel, uvs, ratio: kernel.cps > 0 ? uvs.cps / kernel.cps : 0, guestMs: g.totalMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatIpvsTcg(r: IpvsTcgResult): string {
  return [
    '| balancer (same QEMU TCG guest, 1 vCPU) | new connections/s | ok | failed |',
    '|---|---|---|---|',
    `| kernel IPVS NAT (6.12) | ${r.kernel.cps.toFixed(1)} | ${r.kernel.ok} | ${r.kernel.failed} |`,
    `| uvs NAT (1 worker) | ${r.uvs.cps.toFixed(1)} | ${r.uvs.ok} | ${r.uvs.failed} |`,
    '',
    `uvs / kernel IPVS = ${r.ratio.toFixed(2)} (same guest, ${r.seconds} s each, one connection at a time). Emulation distorts costs: indicative only.`,
  ].join('\n');
}

/** `npm run bench -- --ipvs-tcg [--seconds S]`: runs, prints the table, writes bench/results/ipvs-tcg-<time>.json. */
export async function ipvsTcgMain(argv: string[]): Promise<number> {
  const i = argv.indexOf('--seconds');
  const seconds = i >= 0 ? Number(argv[i + 1]) : 10;
  if (!(seconds > 0 && seconds <= 300)) {
    console.error('usage: ipvs-tcg [--seconds S]   (S: 1..300, default 10)');
    return 2;
  }
  const r = await runIpvsTcg(seconds, (l) => console.log(l));
  console.log(formatIpvsTcg(r));
  if (r.kernel.ok === 0 || r.uvs.ok === 0) return 1;
  const out = join(REPO, 'bench/results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `ipvs-tcg-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify({ ...r, at: new Date().toISOString() }, null, 1) + '\n');
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  ipvsTcgMain(process.argv.slice(2)).then((c) => (process.exitCode = c));
}
