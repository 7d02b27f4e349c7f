// A shell session written for kernel IPVS, run on a director whose `ipvsadm` is uvsadm
// (a symlink on PATH): add a service, three real servers (NAT, then DR in a second lab),
// list, change a weight, delete a server, zero the counters, save, clear, restore — with
// real connections from the client after each step showing the table took effect. The
// first ipvsadm call starts uvsd in the namespace, silently, as the issue asks.
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildLab, type Lab } from '../../src/lab/index.js';
import { pidAlive, uniquePrefix } from '../../src/lab/testing.js';
import { load } from '../datapath/fixtures/forward.js';

const UVSADM = fileURLToPath(new URL('../../src/cli/uvsadm.js', import.meta.url));

interface Director {
  /** Runs a shell line in dir1 with ipvsadm = uvsadm; resolves with stdout, stderr, exit code. */
  sh(line: string): Promise<{ out: string; err: string; code: number }>;
  runDir: string;
}

function director(lab: Lab): Director {
  const bin = join(lab.logDir, 'bin');
  const runDir = join(lab.logDir, 'run');
  mkdirSync(bin, { recursive: true });
  symlinkSync(UVSADM, join(bin, 'ipvsadm'));
  return {
    runDir,
    sh: async (line) => {
      try {
        const out = await lab.exec('dir1', ['sh', '-c', `${line} 2>${join(lab.logDir, 'sh.err')}`], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, UVS_RUN_DIR: runDir }, timeoutMs: 60_000 });
        return { out, err: readFileSync(join(lab.logDir, 'sh.err'), 'utf8'), code: 0 };
      } catch (e) {
        const x = e as { stdout?: string; exitCode?: number };
        return { out: x.stdout ?? '', err: readFileSync(join(lab.logDir, 'sh.err'), 'utf8'), code: x.exitCode ?? -1 };
      }
    },
  };
}

/** Stops the uvsd that uvsadm started (by the PID in its pid file) before the lab goes. */
async function stopDaemon(d: Director): Promise<void> {
  let pid = 0;
  try {
    const file = readFileSync(join(d.runDir, (await import('node:fs')).readdirSync(d.runDir).find((f) => f.endsWith('.pid'))!), 'utf8');
    pid = Number(file.trim());
  } catch {
    return;
  }
  if (!(pid > 0)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 200 && pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
}

for (const [method, flag] of [['nat', '-m'], ['dr', '-g']] as const) {
  t.test(`a kernel-IPVS shell script with ipvsadm = uvsadm (${method})`, async (t) => {
    const lab = await buildLab({ prefix: uniquePrefix(`is${method[0]}`), servers: 3, mode: method });
    const d = director(lab);
    t.teardown(async () => {
      await stopDaemon(d);
      await lab.down();
    });
    const vip = lab.description.vip.ipv4;
    const [rs1, rs2, rs3] = lab.description.servers.map((s) => s.eth0.ipv4);
    const svc = `-t ${vip}:9000`;
    const traffic = async (n: number): Promise<Record<string, number>> => {
      const r = await load(lab, 'tcp', 9000, n, ['--concurrency', '4', '--max-bytes', '2048', '--timeout', '3000']);
      return r.ok === 0 ? {} : r.servers;
    };

    // What a kernel-IPVS admin does first: the VIP (and, for NAT, the servers' gateway) on the director.
    await d.sh(`ip addr add ${vip}/32 dev pub0`);
    if (method === 'nat') await d.sh(`ip addr add ${lab.description.natRouter.ipv4}/24 dev priv0`);

    let r = await d.sh(`ipvsadm -A ${svc} -s rr`);
    t.same([r.code, r.out, r.err], [0, '', ''], 'ipvsadm -A: silent success (uvsd started on demand)');
    t.same(await traffic(3), {}, 'a service without servers answers nothing');

    for (const rs of [rs1, rs2, rs3]) {
      r = await d.sh(`ipvsadm -a ${svc} -r ${rs}:9000 ${flag} -w 1`);
      t.equal(r.code, 0, `ipvsadm -a ${rs}`);
    }
    t.same(await traffic(30), { rs1: 10, rs2: 10, rs3: 10 }, '30 connections, rr over three servers');

    r = await d.sh('ipvsadm -L -n');
    const fwd = method === 'nat' ? 'Masq' : 'Route';
    t.match(r.out, new RegExp(`^IP Virtual Server version 1\\.2\\.1 \\(size=4096\\)\\nProt LocalAddress:Port Scheduler Flags\\n  -> RemoteAddress:Port +Forward Weight ActiveConn InActConn\\nTCP  ${vip.replace(/\./g, '\\.')}:9000 rr\\n`), 'ipvsadm -L -n: the header and the service');
    for (const rs of [rs1, rs2, rs3]) t.match(r.out, new RegExp(`  -> ${rs!.replace(/\./g, '\\.')}:9000 +${fwd} +1 +\\d+ +\\d+ *\\n`), `lists ${rs}`);

    r = await d.sh(`ipvsadm -e ${svc} -r ${rs1}:9000 ${flag} -w 0`);
    t.equal(r.code, 0, 'ipvsadm -e: weight 0');
    let got = await traffic(20);
    t.notOk(got.rs1, `the quiesced server gets nothing (${JSON.stringify(got)})`);
    t.equal((got.rs2 ?? 0) + (got.rs3 ?? 0), 20, 'the others take all 20');

    r = await d.sh(`ipvsadm -d ${svc} -r ${rs2}:9000`);
    t.equal(r.code, 0, 'ipvsadm -d');
    t.same(await traffic(10), { rs3: 10 }, 'only rs3 is left to serve');

    r = await d.sh('ipvsadm -Z');
    t.equal(r.code, 0, 'ipvsadm -Z');
    r = await d.sh('ipvsadm -L -n --stats');
    t.match(r.out, new RegExp(`TCP  ${vip.replace(/\./g, '\\.')}:9000 +0 +0 +0 +0 +0\\n`), 'counters are zero after -Z');
    await traffic(5);
    r = await d.sh('ipvsadm -L -n --stats');
    t.match(r.out, new RegExp(`TCP  ${vip.replace(/\./g, '\\.')}:9000 +5 `), '5 new connections counted since');
    t.match(r.out, new RegExp(`  -> ${rs3!.replace(/\./g, '\\.')}:9000 +5 `), 'all on rs3');

    r = await d.sh('ipvsadm -L -n -c');
    t.match(r.out, /^IPVS connection entries\npro expire state +source +virtual +destination\n/, 'ipvsadm -L -n -c: the header');
    t.match(r.out, new RegExp(`\\nTCP +\\d\\d:\\d\\d +[A-Z_]+ +198\\.18\\.0\\.10:\\d+ +${vip.replace(/\./g, '\\.')}:9000 +${rs3!.replace(/\./g, '\\.')}:9000\\n`), 'the connections just made, to rs3');

    const rules = join(lab.logDir, 'rules');
    r = await d.sh(`ipvsadm -S -n > ${rules}`);
    t.equal(r.code, 0, 'ipvsadm -S -n');
    const saved = readFileSync(rules, 'utf8');
    t.equal(saved, `-A ${svc} -s rr\n-a ${svc} -r ${rs1}:9000 ${flag} -w 0\n-a ${svc} -r ${rs3}:9000 ${flag} -w 1\n`, 'the saved rules (servers sorted by address, as ipvsadm -S)');

    r = await d.sh('ipvsadm -C');
    t.equal(r.code, 0, 'ipvsadm -C');
    t.equal((await d.sh('ipvsadm -L -n')).out.split('\n').length, 4, 'the table is empty');
    t.same(await traffic(3), {}, 'nothing is balanced after -C');

    r = await d.sh(`ipvsadm -R < ${rules}`);
    t.equal(r.code, 0, 'ipvsadm -R');
    t.equal((await d.sh('ipvsadm -S -n')).out, saved, 'the restored table saves the same');
    t.same(await traffic(10), { rs3: 10 }, 'and serves as before');

    r = await d.sh(`ipvsadm -a ${svc} -r ${rs3}:9000 ${flag}`);
    t.same([r.code, r.err], [255, 'Destination already exists\n'], 'a kernel error comes back as ipvsadm prints it');
    r = await d.sh('ipvsadm -A -t 1.2.3.4 -s rr');
    t.equal(r.code, 2, 'a usage error exits 2');
    t.match(r.err, /Zero port specified for non-persistent service/, 'with ipvsadm\'s message');
  });
}
