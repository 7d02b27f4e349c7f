// The worker's per-packet path measured in memory (bench/datapath-memory.ts, bench/health.ts):
// parse -> connection lookup -> NAT rewrite -> copy into the TX ring, over recorded frames,
// in a worker thread as the datapath runs it. measure() runs in this thread; inThreads()
// starts worker threads that run it.

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { ip4FromString, macFromString } from '../../src/packet/addr.js';
import { buildFrame } from '../../src/packet/builder.js';
import { Engine } from '../../src/datapath/engine.js';
import type { Port } from '../../src/datapath/link.js';
import { MemoryTxRing } from '../../src/datapath/memory-ring.js';
import { METHOD_NAT } from '../../src/datapath/snapshot.js';
import { createSharedStats, StatsViews } from '../../src/datapath/stats.js';
import { NeighbourTable } from '../../src/tables/neighbour.js';

export interface Job {
  seconds: number;
  flows: number;
  mode: 'engine' | 'copy';
  /** RX frames and TX rings in one buffer, as the worker maps them (copyWithin), or apart. */
  combined: boolean;
}

/** Runs one measurement in this thread; returns packets processed and elapsed ns. */
export function measure(job: Job): { packets: number; ns: number } {
  const SLOT = 160;
  const BATCH = 4096;
  // TX slots as the worker has them: 64 slots big enough for a GSO super-frame.
  const TX_SLOT = 65616;
  const TX_SLOTS = 64;
  // [RX block area][pub TX slots][priv TX slots] in one buffer, or three buffers.
  const rxBytes = BATCH * SLOT;
  const shared = job.combined ? new Uint8Array(rxBytes + 2 * TX_SLOTS * TX_SLOT) : undefined;
  const pub = new MemoryTxRing(TX_SLOTS, TX_SLOT, 10, shared ? { bytes: shared, base: rxBytes } : undefined);
  const priv = new MemoryTxRing(TX_SLOTS, TX_SLOT, 10, shared ? { bytes: shared, base: rxBytes + TX_SLOTS * TX_SLOT } : undefined);
  const ports: Port[] = [
    { name: 'pub0', mac: macFromString('02:75:76:18:00:02'), mtu: 1500, address: ip4FromString('198.18.0.2'), tx: pub },
    { name: 'priv0', mac: macFromString('02:75:76:19:00:02'), mtu: 1500, address: ip4FromString('198.19.0.2'), tx: priv },
  ];
  const engine = new Engine(ports, new NeighbourTable(), new StatsViews(createSharedStats(1, 16), 0), { connections: job.flows * 2 });
  const vip = ip4FromString('198.18.0.100');
  engine.apply({
    generation: 1,
    services: [{ protocol: 6, address: vip, port: 80, scheduler: 'rr', dests: [0, 1, 2].map((i) => ({ address: ip4FromString(`198.19.0.${11 + i}`), port: 80, weight: 1, method: METHOD_NAT, slot: i })) }],
    owned: [vip],
    routes: [
      { net: ip4FromString('198.18.0.0'), len: 24, port: 0, gateway: 0 },
      { net: ip4FromString('198.19.0.0'), len: 24, port: 1, gateway: 0 },
    ],
  });
  const now = Date.now();
  engine.link.neighbours.learn(ip4FromString('198.18.0.10'), macFromString('02:75:76:18:00:0a'), 0, now, true);
  for (let i = 0; i < 3; i++) engine.link.neighbours.learn(ip4FromString(`198.19.0.${11 + i}`), macFromString(`02:75:76:19:00:0${(11 + i).toString(16)}`), 0, now, true);

  // A ring-sized batch of recorded frames: client -> VIP data segments over `flows` connections
  // (64-byte payload), laid out as an RX block would be (virtio header + frame per 160 bytes).
  const frames = Array.from({ length: job.flows }, (_, f) =>
    buildFrame({ eth: { src: '02:75:76:18:00:0a', dst: '02:75:76:18:00:02' }, ipv4: { src: '198.18.0.10', dst: '198.18.0.100', ttl: 64 }, tcp: { sport: 1024 + f, dport: 80, flags: 0x18, seq: 1 }, payload: '00'.repeat(64) }),
  );
  const syns = frames.map((_, f) => buildFrame({ eth: { src: '02:75:76:18:00:0a', dst: '02:75:76:18:00:02' }, ipv4: { src: '198.18.0.10', dst: '198.18.0.100', ttl: 64 }, tcp: { sport: 1024 + f, dport: 80, flags: 0x02 } }));
  const pristine = new Uint8Array(BATCH * SLOT);
  const lengths = new Int32Array(BATCH);
  for (let i = 0; i < BATCH; i++) {
    const fr = frames[i % frames.length]!;
    pristine.set(fr, i * SLOT + 16);
    lengths[i] = fr.length;
  }
  const rx = shared ?? new Uint8Array(pristine.length);
  // Open every connection first (as the SYNs would have).
  for (const s of syns) {
    rx.set(s, 16);
    engine.handle(rx, 16, s.length, 6, 0, 0, 0, now);
  }
  const sink = new Uint8Array(SLOT * 256);
  let packets = 0;
  const t0 = process.hrtime.bigint();
  const until = Date.now() + job.seconds * 1000;
  while (Date.now() < until) {
    rx.set(pristine, 0); // the "kernel" refills the block (the same cost for every row)
    const t = Date.now();
    if (job.mode === 'engine') {
      for (let i = 0; i < BATCH; i++) engine.handle(rx, i * SLOT + 16, lengths[i]!, i * SLOT + 6, 0, 0, 0, t);
      engine.afterBatch(t);
    } else {
      for (let i = 0; i < BATCH; i++) sink.set(rx.subarray(i * SLOT + 6, i * SLOT + 16 + lengths[i]!), (i & 255) * SLOT);
    }
    packets += BATCH;
  }
  return { packets, ns: Number(process.hrtime.bigint() - t0) };
}

export function inThreads(job: Job, threads: number): Promise<{ packets: number; ns: number }[]> {
  const file = fileURLToPath(import.meta.url);
  return Promise.all(
    Array.from({ length: threads }, () => new Promise<{ packets: number; ns: number }>((resolve, reject) => {
      const w = new Worker(file, { workerData: { ...job, engineMeasure: true } });
      w.once('message', resolve);
      w.once('error', reject);
    })),
  );
}


if (!isMainThread && (workerData as { engineMeasure?: boolean } | null)?.engineMeasure) parentPort!.postMessage(measure(workerData as Job));
