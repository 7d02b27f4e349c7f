// Persistence scenarios: templates created (-p), reused by a client's next connection,
// grouping clients by -M netmask, shared by the ports of a firewall-mark service, kept for a
// quiesced server, a port-0 service, and expiring once their connections are gone so the
// client is scheduled anew. The listings show each template (`-L -n -c`, state NONE) and
// PersistConn.

import { markStep } from './scheduling.js';
import type { PacketScenario, Step } from './script.js';
import { connect, ipvsadm, observe, reset, send, sleep, type Conn } from './steps.js';
import { client, NET } from './topology.js';

export function persistenceScenarios(): PacketScenario[] {
  const out: PacketScenario[] = [];
  const rsAll = (svc: string[], port: number, extra: string[] = []): Step[] => [0, 1, 2].map((i) => ipvsadm('-a', ...svc, '-r', `${NET.servers[i]}:${port}`, '-m', '-w', '1', ...extra));
  const conn = (n: number, sport: number, port: number, vip: string = NET.vip): Conn => ({ client: client(n), sport, port, vip });

  {
    const port = 4001;
    const svc = ['-t', `${NET.vip}:${port}`];
    const c = (n: number, s: number): Conn => conn(n, 40000 + s, port);
    out.push({
      name: 'persist-basic',
      group: 'persistence',
      title: '-p 300 rr: a client keeps its server over new connections; other clients go round',
      ports: [port],
      clients: [0, 1, 2, 3].map(client),
      steps: [
        ipvsadm('-C'), ipvsadm('-A', ...svc, '-s', 'rr', '-p', '300'), ...rsAll(svc, port),
        connect([c(0, 0)]), observe(), connect([c(0, 1), c(1, 2), c(0, 3), c(2, 4), c(3, 5), c(1, 6)]), observe(),
        // Quiesce the server client 0 sticks to: its template still holds (expire_quiescent_template 0).
        ipvsadm('-e', ...svc, '-r', `${NET.servers[0]}:${port}`, '-m', '-w', '0'), connect([c(0, 7), c(3, 8)]), observe(),
      ],
    });
  }
  {
    const port = 4002;
    const svc = ['-t', `${NET.vip}:${port}`];
    const c = (n: number, s: number): Conn => conn(n, 40100 + s, port);
    out.push({
      name: 'persist-netmask',
      group: 'persistence',
      title: '-p 300 -M 255.255.255.0: clients of one /24 share a template',
      ports: [port],
      clients: [0, 1, 2, 200, 201, 202, 400].map(client),
      steps: [
        ipvsadm('-C'), ipvsadm('-A', ...svc, '-s', 'rr', '-p', '300', '-M', '255.255.255.0'), ...rsAll(svc, port),
        connect([c(0, 0), c(200, 1), c(1, 2), c(201, 3), c(400, 4), c(2, 5), c(202, 6)]), observe(),
      ],
    });
  }
  {
    const ports = [4003, 4004];
    const mark = 44;
    const svc = ['-f', String(mark)];
    const steps: Step[] = [ipvsadm('-C'), ...ports.map((p) => markStep(p, mark)), ipvsadm('-A', ...svc, '-s', 'rr', '-p', '300'), ...rsAll(svc, 0)];
    const conns: Conn[] = [];
    for (let n = 0; n < 4; n++) for (const p of ports) conns.push(conn(n, 40200 + conns.length, p));
    out.push({
      name: 'persist-fwmark',
      group: 'persistence',
      title: 'fwmark service with -p 300: a client\'s connections to both marked ports share one template',
      ports,
      marks: [mark],
      clients: [0, 1, 2, 3].map(client),
      steps: [...steps, connect(conns), observe()],
    });
  }
  {
    const port = 0;
    const svc = ['-t', `${NET.vip}:0`];
    const conns = [4101, 4102, 4103, 4101].flatMap((p, i) => [conn(0, 40300 + i, p), conn(1, 40310 + i, p)]);
    out.push({
      name: 'persist-port0',
      group: 'persistence',
      title: '-t VIP:0 -p 300: every port of the VIP, one template per client',
      ports: [0, 4101, 4102, 4103],
      clients: [0, 1].map(client),
      steps: [ipvsadm('-C'), ipvsadm('-A', ...svc, '-s', 'rr', '-p', '300'), ...rsAll(svc, port), connect(conns), observe()],
    });
  }
  {
    const port = 4005;
    const svc = ['-t', `${NET.vip}:${port}`];
    const c = (n: number, s: number): Conn => conn(n, 40400 + s, port);
    out.push({
      name: 'persist-expiry-tcp',
      group: 'persistence',
      title: '-p 2 TCP: the template outlives its timeout while its connection lives (CLOSE after RST, 10 s), so the client keeps its server',
      ports: [port],
      clients: [0, 1].map(client),
      steps: [
        ipvsadm('-C'), ipvsadm('-A', ...svc, '-s', 'rr', '-p', '2'), ...rsAll(svc, port),
        connect([c(0, 0)]), reset([c(0, 0)]), sleep(4), observe(), connect([c(0, 1)]), connect([c(1, 2)]), observe(),
      ],
    });
  }
  {
    const port = 4006;
    const svc = ['-u', `${NET.vip}:${port}`];
    const udp = (n: number, s: number): Step => send({ side: 'c', src: client(n), sport: 40500 + s, dst: NET.vip, dport: port, flags: '', udp: true });
    out.push({
      name: 'persist-expiry-udp',
      group: 'persistence',
      title: '-p 2 UDP with --set udp 1 s: connection then template expire; the client is scheduled anew (rr moves on)',
      ports: [port],
      clients: [0, 1].map(client),
      steps: [
        ipvsadm('-C'), ipvsadm('--set', '0', '0', '1'), ipvsadm('-A', ...svc, '-s', 'rr', '-p', '2'), ...rsAll(svc, port),
        udp(0, 0), udp(0, 1), observe(), sleep(5), observe(), udp(1, 2), udp(0, 3), observe(), ipvsadm('--set', '0', '0', '300'),
      ],
      note: 'expiry takes real time in the guest (sleep) and virtual time on the uvs side; the expire column is not compared',
    });
  }
  {
    const port = 4007;
    const svc = ['-t', `${NET.vip}:${port}`];
    const c = (n: number, s: number): Conn => conn(n, 40600 + s, port);
    out.push({
      name: 'persist-quiescent-expire',
      group: 'persistence',
      title: 'expire_quiescent_template=1: a client whose server is quiesced gets a new one (its template is invalidated: re-keyed to port 65535)',
      // 65535: where an invalidated template is listed (ip_vs_check_template re-keys it).
      ports: [port, 65535],
      clients: [0, 1].map(client),
      steps: [
        ipvsadm('-C'), { op: 'sysctl', name: 'expire_quiescent_template', value: 1 }, ipvsadm('-A', ...svc, '-s', 'rr', '-p', '300'), ...rsAll(svc, port),
        connect([c(0, 0), c(1, 1)]), observe(), ipvsadm('-e', ...svc, '-r', `${NET.servers[2]}:${port}`, '-m', '-w', '0'), connect([c(0, 2), c(1, 3)]), observe(),
        { op: 'sysctl', name: 'expire_quiescent_template', value: 0 },
      ],
    });
  }
  return out;
}
