// Golden packet-in/packet-out tests of the balancing engine (Katran style): a frame in, the
// exact frame out. Expected frames are built from scratch by the frame builder (full
// checksums), so every incremental update the engine makes is checked byte for byte.
import t from 'tap';
import { bytesToHex } from '../../src/packet/addr.js';
import { buildFrame, type FrameDesc } from '../../src/packet/builder.js';
import { ENGINE } from '../../src/datapath/stats.js';
import { feed, LAB, makeEngine } from './fixtures/engine.js';

const hex = (b: Uint8Array): string => bytesToHex(b);
const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;

function tcp(src: string, dst: string, sport: number, dport: number, flags: number, ttl: number, macs: [string, string], payload = ''): Uint8Array {
  return buildFrame({
    eth: { src: macs[0], dst: macs[1] },
    ipv4: { src, dst, ttl, id: 0x1234, df: true },
    tcp: { sport, dport, seq: 1000, ack: flags & ACK ? 5000 : 0, flags, window: 64240 },
    payload,
  } as FrameDesc);
}

t.test('NAT: client -> VIP rewritten to the real server, the reply back to the VIP', async (t) => {
  const e = makeEngine('nat');
  feed(e, tcp(LAB.client, LAB.vip, 40000, 9000, SYN, 64, [LAB.clientMac, LAB.dirPubMac]), 0);
  // rr over the list newest-first: the first pick is the list head, servers[0] here.
  t.equal(hex(e.priv.frame()), hex(tcp(LAB.client, LAB.servers[0], 40000, 9000, SYN, 63, [LAB.dirPrivMac, LAB.serverMacs[0]])), 'SYN: destination = rs1, TTL-1, MACs, checksums');
  feed(e, tcp(LAB.servers[0], LAB.client, 9000, 40000, SYN | ACK, 64, [LAB.serverMacs[0], LAB.dirPrivMac]), 1);
  t.equal(hex(e.pub.frame()), hex(tcp(LAB.vip, LAB.client, 9000, 40000, SYN | ACK, 63, [LAB.dirPubMac, LAB.clientMac])), 'SYN-ACK: source = VIP');
  feed(e, tcp(LAB.client, LAB.vip, 40000, 9000, ACK | PSH, 64, [LAB.clientMac, LAB.dirPubMac], '68656c6c6f'), 0);
  t.equal(hex(e.priv.frame()), hex(tcp(LAB.client, LAB.servers[0], 40000, 9000, ACK | PSH, 63, [LAB.dirPrivMac, LAB.serverMacs[0]], '68656c6c6f')), 'data follows the connection');
  feed(e, tcp(LAB.client, LAB.vip, 40001, 9000, SYN, 64, [LAB.clientMac, LAB.dirPubMac]), 0);
  t.equal(hex(e.priv.frame()), hex(tcp(LAB.client, LAB.servers[1], 40001, 9000, SYN, 63, [LAB.dirPrivMac, LAB.serverMacs[1]])), 'the next connection goes to rs2');
  const s = e.engine.stats;
  t.equal(s.engine[ENGINE.newConnections], 2);
  t.equal(s.active[0], 1, 'rs1: one active connection (ESTABLISHED)');
  t.equal(s.inactive[1], 0, 'rs2: SYN_RECV counts as active');
  t.equal(s.active[1], 1);
});

t.test('NAT: UDP without checksum keeps 0; port mapping', async (t) => {
  const e = makeEngine('nat');
  const udp = (src: string, dst: string, sp: number, dp: number, ttl: number, macs: [string, string], checksum?: number): Uint8Array =>
    buildFrame({ eth: { src: macs[0], dst: macs[1] }, ipv4: { src, dst, ttl, id: 7 }, udp: { sport: sp, dport: dp, ...(checksum === undefined ? {} : { checksum }) }, payload: '01020304' });
  feed(e, udp(LAB.client, LAB.vip, 5555, 9000, 64, [LAB.clientMac, LAB.dirPubMac], 0), 0);
  t.equal(hex(e.priv.frame()), hex(udp(LAB.client, LAB.servers[0], 5555, 9000, 63, [LAB.dirPrivMac, LAB.serverMacs[0]], 0)), 'checksum 0 stays 0');
  feed(e, udp(LAB.servers[0], LAB.client, 9000, 5555, 64, [LAB.serverMacs[0], LAB.dirPrivMac]), 1);
  t.equal(hex(e.pub.frame()), hex(udp(LAB.vip, LAB.client, 9000, 5555, 63, [LAB.dirPubMac, LAB.clientMac])), 'reply from the VIP, checksum recomputed incrementally');
});

t.test('DR: only the MACs (and TTL) change', async (t) => {
  const e = makeEngine('dr');
  feed(e, tcp(LAB.client, LAB.vip, 40000, 9000, SYN, 64, [LAB.clientMac, LAB.dirPubMac]), 0);
  t.equal(hex(e.priv.frame()), hex(tcp(LAB.client, LAB.vip, 40000, 9000, SYN, 63, [LAB.dirPrivMac, LAB.serverMacs[0]])), 'to rs1 MAC, IP destination still the VIP');
  t.equal(e.engine.conns.flags[0]! & 0x80, 0x80, 'entry is NOOUTPUT (input-only state table)');
});

t.test('TUN: IPIP to the real server, outer source = the director', async (t) => {
  const e = makeEngine('tun');
  const inner = tcp(LAB.client, LAB.vip, 40000, 9000, SYN, 64, [LAB.clientMac, LAB.dirPubMac]);
  feed(e, inner, 0);
  const innerAfter = tcp(LAB.client, LAB.vip, 40000, 9000, SYN, 63, [LAB.clientMac, LAB.dirPubMac]).subarray(14);
  const expected = buildFrame({
    eth: { src: LAB.dirPrivMac, dst: LAB.serverMacs[0] },
    ipv4: { src: LAB.dirPriv, dst: LAB.servers[0], ttl: 63, id: 0, df: true, proto: 4 },
    payload: bytesToHex(innerAfter),
  });
  t.equal(hex(e.priv.frame()), hex(expected), 'outer IPv4 (proto 4, TTL and DF from the inner) + the inner packet');
  t.equal(e.engine.stats.engine[ENGINE.tunnelled], 1);
});

t.test('ARP: uvs answers for the VIP and the NAT router, not for others', async (t) => {
  const e = makeEngine('nat');
  const req = (target: string): Uint8Array =>
    buildFrame({ eth: { src: LAB.serverMacs[2], dst: 'ff:ff:ff:ff:ff:ff' }, arp: { op: 1, sha: LAB.serverMacs[2], spa: LAB.servers[2], tpa: target } });
  feed(e, req(LAB.natRouter), 1, 0, 1);
  const reply = buildFrame({ eth: { src: LAB.dirPrivMac, dst: LAB.serverMacs[2] }, arp: { op: 2, sha: LAB.dirPrivMac, spa: LAB.natRouter, tha: LAB.serverMacs[2], tpa: LAB.servers[2] } });
  t.equal(hex(e.priv.frame()), hex(reply), 'reply for the NAT router from priv0');
  const before = e.priv.committed;
  feed(e, req('198.19.0.77'), 1, 0, 1);
  t.equal(e.priv.committed, before, 'no reply for an address uvs does not own');
});

t.test('ICMP frag-needed from the client is translated to the real server (NAT)', async (t) => {
  const e = makeEngine('nat');
  feed(e, tcp(LAB.client, LAB.vip, 40000, 9000, SYN, 64, [LAB.clientMac, LAB.dirPubMac]), 0);
  const icmp = (dst: string, quotedSrc: string, ttl: number, macs: [string, string]): Uint8Array =>
    buildFrame({
      eth: { src: macs[0], dst: macs[1] },
      ipv4: { src: LAB.client, dst, ttl, id: 99 },
      icmp: { type: 3, code: 4, rest: 1400, quote: { ipv4: { src: quotedSrc, dst: LAB.client, ttl: 63, id: 5, df: true }, tcp: { sport: 9000, dport: 40000, seq: 1, flags: ACK } }, quoteLen: 28 },
    } as FrameDesc);
  feed(e, icmp(LAB.vip, LAB.vip, 64, [LAB.clientMac, LAB.dirPubMac]), 0);
  t.equal(hex(e.priv.frame()), hex(icmp(LAB.servers[0], LAB.servers[0], 63, [LAB.dirPrivMac, LAB.serverMacs[0]])), 'outer destination and quoted source = rs1, checksums fixed');
  t.equal(e.engine.stats.engine[ENGINE.icmpTranslated], 1);
});

t.test('what is not uvs business is counted and left alone', async (t) => {
  const e = makeEngine('nat');
  feed(e, tcp(LAB.client, LAB.vip, 40000, 9000, ACK, 64, [LAB.clientMac, LAB.dirPubMac]), 0);
  t.equal(e.engine.stats.engine[ENGINE.noConnection], 1, 'a non-SYN without a connection');
  feed(e, tcp(LAB.client, LAB.vip, 40000, 22, SYN, 64, [LAB.clientMac, LAB.dirPubMac]), 0);
  t.equal(e.engine.stats.engine[ENGINE.noService], 1, 'to the VIP, but no service on that port');
  feed(e, tcp(LAB.client, '198.18.0.77', 40000, 80, SYN, 64, [LAB.clientMac, LAB.dirPubMac]), 0);
  t.equal(e.engine.stats.engine[ENGINE.passed], 1, 'not for a VIP nor a reply: left to the kernel');
  feed(e, new Uint8Array(10), 0);
  t.equal(e.engine.stats.engine[ENGINE.malformed], 1, 'a truncated frame');
  t.equal(e.priv.committed + e.pub.committed, 0, 'nothing sent');
});
