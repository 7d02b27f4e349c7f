#!/usr/bin/env node
// The lab's real server, run in each rs namespace:
//   ip netns exec P-rsK node dist/src/lab/real-server.js --name rsK [--ready-fd 3]
//
// Services (all addresses, IPv4 and IPv6):
//   TCP 7     echo
//   UDP 7     echo
//   TCP 9000  identify: sends "<name> <peer-address>:<peer-port>\n", then echoes everything
//   UDP 9000  identify: replies "<name> <peer-address>:<peer-port> " followed by the payload
//   TCP 9001  digest: reads until the client half-closes, then answers
//             "<name> <peer-address>:<peer-port> <bytes> <sha256-hex>\n" (bulk uploads)
//   TCP 80    HTTP: body "<name> <peer-address>:<peer-port>\n", headers X-Real-Server and
//             X-Client-Address; GET /bytes/N answers N bytes (for benchmarks).
//   TCP 443   the same HTTP service (plain HTTP: a second web port for firewall-mark groups)
//   TCP 9002  agent (health feedback, docs/health-agent.md): replies the content of the file
//             given by --agent-file PATH, read anew per connection (default: "up\n"), and
//             closes; write "50%", "drain" or "down ..." into the file to change the feedback.
//
// TCP listens on the wildcard (so connections to a VIP on lo work in DR/TUN). UDP replies
// must leave from the address the datagram was sent to (a VIP on lo, not the RIP), and Node
// has no IP_PKTINFO, so besides the wildcard sockets there is one UDP socket per local
// address, rescanned every second so addresses added later (e.g. by a test) are served too.
// Quiet: nothing is printed per connection; errors on single sockets are ignored.

import { createHash } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { closeSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    'ready-fd': { type: 'string' },
    'echo-port': { type: 'string', default: '7' },
    'identify-port': { type: 'string', default: '9000' },
    'digest-port': { type: 'string', default: '9001' },
    'http-port': { type: 'string', default: '80' },
    'http2-port': { type: 'string', default: '443' },
    'agent-port': { type: 'string', default: '9002' },
    'agent-file': { type: 'string' },
  },
  strict: true,
});

const name = values.name ?? `rs-${process.pid}`;
const echoPort = Number(values['echo-port']);
const idPort = Number(values['identify-port']);
const httpPort = Number(values['http-port']);
const http2Port = Number(values['http2-port']);
const digestPort = Number(values['digest-port']);
const agentPort = Number(values['agent-port']);
const agentFile = values['agent-file'];

/** ::ffff:198.18.0.10 → 198.18.0.10 (dual-stack sockets report IPv4 peers mapped). */
function plain(addr: string | undefined): string {
  if (addr === undefined) return '?';
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}
function peerOf(sock: Socket): string {
  return `${plain(sock.remoteAddress)}:${sock.remotePort ?? 0}`;
}

function quiet(sock: Socket): void {
  sock.on('error', () => sock.destroy());
  sock.setNoDelay(true);
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // '::' with ipv6Only false is dual-stack: IPv4 and IPv6 on all addresses.
    server.listen({ host: '::', port, ipv6Only: false, backlog: 4096 }, () => {
      server.off('error', reject);
      server.on('error', () => {});
      resolve();
    });
  });
}

// --- TCP echo and identify ---------------------------------------------------------------
const echo = createServer({ allowHalfOpen: true }, (sock) => {
  quiet(sock);
  sock.pipe(sock);
});
const identify = createServer({ allowHalfOpen: true }, (sock) => {
  quiet(sock);
  sock.write(`${name} ${peerOf(sock)}\n`);
  sock.pipe(sock);
});

const digest = createServer({ allowHalfOpen: true }, (sock) => {
  quiet(sock);
  const peer = peerOf(sock);
  const hash = createHash('sha256');
  let bytes = 0;
  sock.on('data', (d: Buffer) => {
    bytes += d.length;
    hash.update(d);
  });
  sock.on('end', () => sock.end(`${name} ${peer} ${bytes} ${hash.digest('hex')}\n`));
});

// --- agent ---------------------------------------------------------------------------------
const agent = createServer((sock) => {
  quiet(sock);
  const reply = agentFile === undefined ? Promise.resolve('up\n') : readFile(agentFile, 'utf8').catch(() => 'fail cannot read the agent file\n');
  void reply.then((text) => sock.end(text));
});

// --- HTTP --------------------------------------------------------------------------------
const CHUNK = Buffer.alloc(64 * 1024, 'x');
function serveHttp(req: IncomingMessage, res: ServerResponse): void {
  const peer = `${plain(req.socket.remoteAddress)}:${req.socket.remotePort ?? 0}`;
  res.setHeader('X-Real-Server', name);
  res.setHeader('X-Client-Address', peer);
  const m = /^\/bytes\/(\d+)$/.exec(req.url ?? '/');
  req.resume();
  if (m) {
    let left = Math.min(Number(m[1]), 1 << 30);
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(left));
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
    return;
  }
  const body = `${name} ${peer}\n`;
  res.setHeader('Content-Type', 'text/plain');
  res.setHeader('Content-Length', String(Buffer.byteLength(body)));
  res.end(req.method === 'HEAD' ? undefined : body);
}
function httpServer(): ReturnType<typeof createHttpServer> {
  const server = createHttpServer(serveHttp);
  server.keepAliveTimeout = 30_000;
  server.on('connection', (sock: Socket) => quiet(sock));
  server.on('clientError', (_err, sock) => sock.destroy());
  return server;
}
const http = httpServer();
const http2 = httpServer();

// --- UDP ---------------------------------------------------------------------------------
type UdpHandler = (sock: UdpSocket, msg: Buffer, rinfo: RemoteInfo) => void;
const udpEcho: UdpHandler = (sock, msg, r) => sock.send(msg, r.port, r.address, () => {});
const udpIdentify: UdpHandler = (sock, msg, r) =>
  sock.send([Buffer.from(`${name} ${plain(r.address)}:${r.port} `), msg], r.port, r.address, () => {});

const udpSockets = new Map<string, UdpSocket>(); // key: `${addr}/${port}`

function bindUdp(addr: string, port: number, handler: UdpHandler): Promise<void> {
  const key = `${addr}/${port}`;
  if (udpSockets.has(key)) return Promise.resolve();
  const v6 = addr.includes(':');
  const sock = createSocket({ type: v6 ? 'udp6' : 'udp4', reuseAddr: true, ipv6Only: v6 });
  udpSockets.set(key, sock);
  sock.on('message', (msg, r) => handler(sock, msg, r));
  return new Promise((resolve) => {
    sock.once('error', () => {
      // e.g. the address went away: forget it, the rescan retries.
      udpSockets.delete(key);
      sock.close();
      resolve();
    });
    sock.bind({ address: addr, port, exclusive: true }, () => {
      sock.removeAllListeners('error');
      sock.on('error', () => {});
      resolve();
    });
  });
}

function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!(a.family === 'IPv6' && a.address.startsWith('fe80:'))) out.push(a.address);
  }
  return out;
}

async function scanUdp(): Promise<void> {
  const want = new Set<string>();
  const jobs: Promise<void>[] = [];
  for (const addr of localAddresses()) {
    for (const [port, h] of [
      [echoPort, udpEcho],
      [idPort, udpIdentify],
    ] as const) {
      want.add(`${addr}/${port}`);
      jobs.push(bindUdp(addr, port, h));
    }
  }
  await Promise.all(jobs);
  for (const [key, sock] of udpSockets) {
    if (key.startsWith('0.0.0.0/') || key.startsWith('::/')) continue;
    if (!want.has(key)) {
      udpSockets.delete(key);
      sock.close();
    }
  }
}

async function main(): Promise<void> {
  await Promise.all([listen(echo, echoPort), listen(identify, idPort), listen(digest, digestPort), listen(agent, agentPort), listen(http as unknown as Server, httpPort), listen(http2 as unknown as Server, http2Port)]);
  await Promise.all([
    bindUdp('0.0.0.0', echoPort, udpEcho),
    bindUdp('0.0.0.0', idPort, udpIdentify),
    bindUdp('::', echoPort, udpEcho),
    bindUdp('::', idPort, udpIdentify),
  ]);
  await scanUdp();
  setInterval(() => void scanUdp(), 1000);

  if (values['ready-fd'] !== undefined) {
    const fd = Number(values['ready-fd']);
    try {
      writeSync(fd, `ready ${name} ${process.pid}\n`);
      closeSync(fd);
    } catch {
      /* the starter went away */
    }
  }
}

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => process.exit(0));

main().catch((err: unknown) => {
  process.stderr.write(`real-server ${name}: ${(err as Error).message}\n`);
  process.exit(1);
});
