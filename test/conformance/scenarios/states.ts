// Connection-state scenarios: TCP exchanges driven segment by segment (client and real
// server sides for NAT, client side only for DR), with the connection's state and the
// server's ActiveConn/InActConn after every segment, plus what the director sent on. Also
// a SYN reusing a TIME_WAIT entry's tuple, a stray ACK with no connection, and UDP.

import type { PacketScenario, Step } from './script.js';
import { fromClient, fromServer, ipvsadm, observe, send, type Conn } from './steps.js';
import { client, NET } from './topology.js';

/** Sends each segment alone and lists after it. */
function exchange(segments: Parameters<typeof send>): Step[] {
  return segments.flatMap((g) => [send(g), observe()]);
}

export function stateScenarios(): PacketScenario[] {
  const out: PacketScenario[] = [];
  const add = (name: string, title: string, port: number, method: '-m' | '-g' | '-i', body: (c: Conn) => Step[], udp = false): void => {
    const c: Conn = { client: client(0), sport: 30000 + port, port };
    out.push({
      name: `state-${name}`,
      group: 'states',
      title,
      ports: [port],
      clients: [client(0)],
      steps: [ipvsadm('-C'), ipvsadm('-A', udp ? '-u' : '-t', `${NET.vip}:${port}`, '-s', 'rr'), ipvsadm('-a', udp ? '-u' : '-t', `${NET.vip}:${port}`, '-r', `${NET.servers[0]}:${port}`, method), ...body(c)],
    });
  };
  add('nat-client-closes', 'NAT: handshake, data, the client closes first', 3001, '-m', (c) =>
    exchange([fromClient(c, 'S'), fromServer(c, 0, 'SA'), fromClient(c, 'A'), fromClient(c, 'PA'), fromServer(c, 0, 'A'), fromClient(c, 'FA'), fromServer(c, 0, 'A'), fromServer(c, 0, 'FA'), fromClient(c, 'A')]),
  );
  add('nat-server-closes', 'NAT: handshake, the real server closes first', 3002, '-m', (c) =>
    exchange([fromClient(c, 'S'), fromServer(c, 0, 'SA'), fromClient(c, 'A'), fromServer(c, 0, 'FA'), fromClient(c, 'A'), fromClient(c, 'FA'), fromServer(c, 0, 'A')]),
  );
  add('nat-resets', 'NAT: the client resets an established connection; a second one is reset by the server', 3003, '-m', (c) => {
    const d: Conn = { ...c, sport: c.sport + 1 };
    return exchange([fromClient(c, 'S'), fromServer(c, 0, 'SA'), fromClient(c, 'A'), fromClient(c, 'R'), fromClient(d, 'S'), fromServer(d, 0, 'SA'), fromClient(d, 'A'), fromServer(d, 0, 'R')]);
  });
  add('nat-refused', 'NAT: the real server answers a SYN with RST (port closed)', 3004, '-m', (c) => exchange([fromClient(c, 'S'), fromServer(c, 0, 'RA')]));
  add('dr-input-only', 'DR: the director sees only the client side', 3005, '-g', (c) => {
    const d: Conn = { ...c, sport: c.sport + 1 };
    return exchange([fromClient(c, 'S'), fromClient(c, 'A'), fromClient(c, 'PA'), fromClient(c, 'FA'), fromClient(c, 'A'), fromClient(d, 'S'), fromClient(d, 'A'), fromClient(d, 'R')]);
  });
  add('syn-retransmit-and-reuse', 'NAT: SYN retransmitted, then a new SYN on the tuple of a TIME_WAIT entry (conn_reuse_mode 1)', 3006, '-m', (c) =>
    exchange([fromClient(c, 'S'), fromClient(c, 'S'), fromServer(c, 0, 'SA'), fromClient(c, 'A'), fromClient(c, 'FA'), fromServer(c, 0, 'FA'), fromClient(c, 'A'), fromClient(c, 'S')]),
  );
  add('stray-ack', 'NAT: an ACK with no connection (sloppy_tcp 0) and a SYN-ACK from the client side', 3007, '-m', (c) => exchange([fromClient(c, 'A'), fromClient({ ...c, sport: c.sport + 1 }, 'SA')]));
  add(
    'udp',
    'UDP: a datagram, the reply, a second datagram',
    3008,
    '-m',
    (c) => exchange([{ ...fromClient(c, ''), udp: true }, { ...fromServer(c, 0, ''), udp: true }, { ...fromClient(c, ''), udp: true }]),
    true,
  );
  add('tun', 'TUN (IPIP): handshake and close seen from the client side, the frames the director encapsulates', 3009, '-i', (c) =>
    exchange([fromClient(c, 'S'), fromClient(c, 'A'), fromClient(c, 'FA'), fromClient(c, 'A')]),
  );
  add('sloppy-tcp', 'sloppy_tcp=1: an ACK with no connection creates one (then back to 0)', 3010, '-m', (c) => [
    { op: 'sysctl', name: 'sloppy_tcp', value: 1 },
    ...exchange([fromClient(c, 'A'), fromServer(c, 0, 'A')]),
    { op: 'sysctl', name: 'sloppy_tcp', value: 0 },
  ]);
  {
    // expire_nodest_conn=1: a packet of a connection whose server was deleted expires it.
    const port = 3011;
    const svc = ['-t', `${NET.vip}:${port}`];
    const c: Conn = { client: client(0), sport: 33011, port };
    const d: Conn = { ...c, sport: 33012 };
    out.push({
      name: 'state-expire-nodest',
      group: 'states',
      title: 'expire_nodest_conn=1: the server of an established connection is deleted; its next packet expires the entry; a new SYN goes elsewhere',
      ports: [port],
      clients: [client(0)],
      steps: [
        ipvsadm('-C'), { op: 'sysctl', name: 'expire_nodest_conn', value: 1 }, ipvsadm('-A', ...svc, '-s', 'rr'),
        ipvsadm('-a', ...svc, '-r', `${NET.servers[0]}:${port}`, '-m'), ipvsadm('-a', ...svc, '-r', `${NET.servers[1]}:${port}`, '-m'),
        ...exchange([fromClient(c, 'S'), fromClient(c, 'A')]),
        ipvsadm('-d', ...svc, '-r', `${NET.servers[1]}:${port}`), observe(),
        ...exchange([fromClient(c, 'PA'), fromClient(d, 'S')]),
        { op: 'sysctl', name: 'expire_nodest_conn', value: 0 },
      ],
    });
  }
  return out;
}
