// The director's kernel stays out of what uvs balances, seen on the wire:
//  - NAT with the VIP on dir1's lo and ip_forward=1: the client's capture shows no RST and
//    no packet that was not rewritten (nothing from a real-server address, every packet
//    from the VIP forwarded by uvs, i.e. with the real server's TTL minus one);
//  - DR: the frame reaching the real server has its destination MAC changed and its IP
//    header untouched (but TTL and header checksum, as IPVS);
//  - kill -9 of uvs under load, then a restart: the leftover nftables table is replaced
//    (one table, no duplicates), service resumes, and a clean stop leaves nothing.
import t from 'tap';
import { buildLab } from '../../src/lab/index.js';
import { startCapture, ipHeaderHex } from '../../src/lab/capture.js';
import { uniquePrefix } from '../../src/lab/testing.js';
import { labConfig, load, startForward, LOAD } from './fixtures/forward.js';

async function uvsTables(lab: { exec(ns: string, argv: string[]): Promise<string> }): Promise<string[]> {
  const out = await lab.exec('dir1', ['nft', 'list', 'tables']);
  return out.split('\n').filter((l) => /\buvs\b/.test(l));
}

t.test('NAT with the VIP local and forwarding on: the kernel adds nothing', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('ko'), servers: 3, mode: 'nat' });
  t.teardown(() => lab.down());
  const d = lab.description;
  await lab.ip('dir1', ['addr', 'add', `${d.vip.ipv4}/32`, 'dev', 'lo']);
  await lab.setForwarding('dir1', true);
  // Control: without uvs the kernel itself answers the VIP (RST from a closed port).
  const before = await lab.probe('client', { proto: 'tcp', host: d.vip.ipv4, port: 9000, send: 'x', timeoutMs: 800 });
  t.match(before.error ?? '', /ECONNREFUSED/, 'without uvs the director kernel refuses (RST)');

  const fwd = await startForward(lab, labConfig(lab, 'nat'), 2);
  t.same(await uvsTables(lab), ['table inet uvs'], 'uvs installed its nftables table');
  const cap = startCapture(lab, 'client', { iface: 'eth0', filter: 'ip', max: 100000, seconds: 60, hexBytes: 64 });
  await cap.ready;
  const r = await load(lab, 'tcp', 9000, 300, ['--concurrency', '16', '--max-bytes', '65536']);
  const u = await load(lab, 'udp', 9000, 50);
  const pkts = await cap.stop();
  t.equal(r.ok, 300, '300 TCP connections verified');
  t.equal(u.ok, 50, '50 UDP exchanges verified');
  const fromDirector = pkts.filter((p) => p.dir === 'in' && p.net === 'ipv4');
  t.ok(fromDirector.length > 1000, `captured ${fromDirector.length} packets towards the client`);
  // RSTs a real server sent are forwarded like any of its packets (TTL 63); one the
  // director's kernel made would carry TTL 64.
  const rsts = fromDirector.filter((p) => p.tcpFlags?.includes('R'));
  t.same(rsts.filter((p) => p.ttl !== 63), [], `no RST from the director's kernel (${rsts.length} forwarded from servers)`);
  t.same(fromDirector.filter((p) => p.src?.startsWith('198.19.')), [], 'nothing un-rewritten (no real-server source address)');
  t.same(fromDirector.filter((p) => p.src === d.vip.ipv4 && p.ttl !== 63), [], 'everything from the VIP was forwarded by uvs (server TTL 64 - 1), none made by the kernel');
  t.same(fromDirector.filter((p) => p.proto === 'icmp'), [], 'no ICMP (redirects, unreachables) from the director');
  await fwd.stop();
  t.same(await uvsTables(lab), [], 'the table is gone after a clean stop');
});

t.test('DR: destination MAC changed, IP header untouched', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('kd'), servers: 1, mode: 'dr' });
  t.teardown(() => lab.down());
  const d = lab.description;
  const fwd = await startForward(lab, labConfig(lab, 'dr'), 1);
  const atClient = startCapture(lab, 'client', { iface: 'eth0', filter: 'tcp dst port 9000', max: 50, seconds: 20, hexBytes: 0 });
  const atServer = startCapture(lab, 'rs1', { iface: 'eth0', filter: 'tcp dst port 9000', max: 50, seconds: 20, hexBytes: 0 });
  await Promise.all([atClient.ready, atServer.ready]);
  const p = await lab.probe('client', { proto: 'tcp', host: d.vip.ipv4, port: 9000, send: 'hello', timeoutMs: 3000 });
  t.ok(p.ok && p.firstLine?.startsWith('rs1 '), 'rs1 answered through DR');
  const sent = (await atClient.stop()).find((x) => x.tcpFlags === 'S')!;
  const got = (await atServer.stop()).find((x) => x.tcpFlags === 'S')!;
  t.ok(sent && got, 'the SYN was captured at both ends');
  t.equal(sent.dstMac, d.directors[0].public.mac, 'the client sent it to the director');
  t.equal(got.dstMac, d.servers[0]!.eth0.mac, 'it reached rs1 with rs1 as destination MAC');
  t.equal(got.srcMac, d.directors[0].private.mac, 'from the director');
  const a = ipHeaderHex(sent)!;
  const b = ipHeaderHex(got)!;
  // bytes 8 (TTL) and 10-11 (header checksum) change; everything else is the client's.
  const mask = (h: string): string => h.slice(0, 16) + '..' + '..' + '....' + h.slice(24);
  t.equal(mask(b), mask(a), 'IP header identical but TTL and checksum (destination still the VIP)');
  t.equal(got.ttl, sent.ttl! - 1, 'TTL decremented by one');
  t.equal(got.hex.slice(68), sent.hex.slice(68), 'TCP header and payload untouched');
  await fwd.stop();
});

t.test('kill -9 under load, then a restart: leftovers replaced, service resumes', async (t) => {
  const lab = await buildLab({ prefix: uniquePrefix('k9'), servers: 2, mode: 'nat' });
  t.teardown(() => lab.down());
  const d = lab.description;
  const linksBefore = await lab.ip('dir1', ['-o', 'link']);
  const first = await startForward(lab, labConfig(lab, 'nat'), 2);
  const running = lab.exec('client', [process.execPath, LOAD, 'tcp', d.vip.ipv4, '9000', '100000', '--size', '1000', '--concurrency', '8', '--seconds', '6', '--timeout', '1500']).catch((e: { stdout?: string }) => e.stdout ?? '{}');
  await new Promise((r) => setTimeout(r, 1500));
  process.kill(first.pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  t.same(await uvsTables(lab), ['table inet uvs'], 'the killed uvs left its table behind');
  const second = await startForward(lab, labConfig(lab, 'nat'), 2);
  t.same(await uvsTables(lab), ['table inet uvs'], 'the restart replaced it: one table');
  const during = JSON.parse(((await running) as string).trim().split('\n').pop() || '{}') as { ok: number; failed: number };
  t.ok(during.ok > 0, `load kept going around the crash: ${during.ok} verified, ${during.failed} failed while uvs was down`);
  const after = await load(lab, 'tcp', 9000, 200, ['--concurrency', '16']);
  t.equal(after.ok, 200, 'service resumed: 200 connections verified after the restart');
  await second.stop();
  t.same(await uvsTables(lab), [], 'no table after a clean stop');
  t.equal(await lab.ip('dir1', ['-o', 'link']), linksBefore, 'no links created or left');
});
