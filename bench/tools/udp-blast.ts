// Load generator for frame-I/O benchmarks: floods UDP frames out of an interface through
// our own TX ring (the same rings the datapath uses), as fast as it can, for a bounded
// count and time. The UDP checksum is 0 ("none", legal over IPv4) so the source port can
// vary per frame (many flows) without recomputing anything.
//
//   node dist/bench/tools/udp-blast.js IFACE DST_MAC SRC_IP DST_IP DST_PORT SECONDS MAX_FRAMES [PAYLOAD]
// Prints {"sent": N, "seconds": S} when done.

import { FrameSocket } from '../../src/frameio/frame-socket.js';
import { interfaceInfo } from '../../src/frameio/interface.js';
import { buildFrame } from '../../src/packet/builder.js';
import { wr16 } from '../../src/packet/bytes.js';

const [ifname, dstMac, srcIp, dstIp, dstPort, seconds, maxFrames, payloadLen] = process.argv.slice(2);
if (!ifname || !dstMac || !srcIp || !dstIp || !dstPort || !seconds || !maxFrames) {
  process.stderr.write('usage: udp-blast IFACE DST_MAC SRC_IP DST_IP DST_PORT SECONDS MAX_FRAMES [PAYLOAD]\n');
  process.exit(2);
}
const frame = buildFrame({
  eth: { src: interfaceInfo(ifname).mac, dst: dstMac },
  ipv4: { src: srcIp, dst: dstIp, ttl: 64 },
  udp: { sport: 10000, dport: Number(dstPort), checksum: 0 },
  payload: '00'.repeat(Number(payloadLen ?? 18)),
});
const sportOffset = 14 + 20;
const socket = FrameSocket.open(ifname, { rx: false, tx: { frameSize: 2048, frameCount: 1024 }, qdiscBypass: true });
const tx = socket.tx!;
const limit = Number(maxFrames);
const until = Date.now() + Number(seconds) * 1000;
let sent = 0;
const nap = new Int32Array(new SharedArrayBuffer(4));
const start = performance.now();
while (sent < limit && Date.now() < until) {
  let batch = 0;
  while (batch < 256 && sent + batch < limit) {
    const off = tx.acquire();
    if (off < 0) break;
    tx.bytes.set(frame, off);
    wr16(tx.bytes, off + sportOffset, 10000 + ((sent + batch) & 1023));
    tx.commit(frame.length);
    batch++;
  }
  sent += batch;
  tx.flush();
  if (batch === 0) Atomics.wait(nap, 0, 0, 0.05); // ring full: let the kernel catch up
}
// Let the ring drain before reporting.
const drainUntil = Date.now() + 1000;
while (tx.busySlots() > 0 && Date.now() < drainUntil) tx.flush();
process.stdout.write(JSON.stringify({ sent, seconds: (performance.now() - start) / 1000 }) + '\n');
socket.close();
