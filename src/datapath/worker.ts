// A datapath worker (a Piscina task that runs until told to stop): owns one AF_PACKET
// socket per director interface, each joined to that interface's fanout group at the
// position of the worker's index, and loops: wait for frames -> drain every ready block
// through the engine -> one TX kick per ring. Between batches it picks up new service-
// table snapshots (MessagePort, read synchronously) and the stop flag (shared Int32).

import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { FrameSocket, type CombinedRings } from '../frameio/frame-socket.js';
import { PollSet } from '../frameio/poll-set.js';
import type { RxRing } from '../frameio/rx-ring.js';
import { NeighbourTable } from '../tables/neighbour.js';
import { Engine } from './engine.js';
import type { Port } from './link.js';
import { openPort, rxParseFlags, type OpenPort } from './ports.js';
import type { DatapathSnapshot } from './snapshot.js';
import { ENGINE, StatsViews, type SharedStatsBuffers } from './stats.js';
import { steeringProgram } from './steering.js';
import { MarkClassifier } from '../tables/fwmark.js';

/** Cells of the control Int32Array shared by the pool and its workers. */
export const CTL = {
  /** 1 = stop. */
  stop: 0,
  /** Generation last published by the control thread. */
  published: 1,
  /** Whose turn it is to join the fanout groups (workers join in index order). */
  joinTurn: 2,
  /** Workers that are up (sockets open, joined, first snapshot applied). */
  ready: 3,
  /** Failed workers. */
  failed: 4,
  /** Generation applied by worker i at [APPLIED + i]. */
  applied: 8,
} as const;

export interface WorkerTask {
  index: number;
  workers: number;
  interfaces: string[];
  /** Fanout group id of interface i: fanoutBase + i. */
  fanoutBase: number;
  control: SharedArrayBuffer;
  snapshots: MessagePort;
  stats: SharedStatsBuffers;
  neighbours: SharedArrayBuffer;
  neighbourCapacity: number;
  connections: number;
  /** This worker's connection-table storage (the control thread lists it). */
  connectionBuffer: SharedArrayBuffer;
  /** The persistence templates, shared by every worker. */
  templates: SharedArrayBuffer;
}

export interface WorkerResult {
  index: number;
  connections: number;
}

function latestSnapshot(port: MessagePort): DatapathSnapshot | undefined {
  let last: DatapathSnapshot | undefined;
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) last = m.message as DatapathSnapshot;
  return last;
}

export default function runWorker(task: WorkerTask): WorkerResult {
  const ctl = new Int32Array(task.control);
  const ports: OpenPort[] = [];
  let combined: CombinedRings | undefined;
  try {
    for (const name of task.interfaces) ports.push(openPort(name));
    // All of this worker's rings in one buffer: moving a frame from an RX ring to another
    // interface's TX ring is then one copyWithin, with no view object per frame.
    combined = FrameSocket.combineRings(ports.map((p) => p.socket));
    const txs = combined.tx;
    const enginePorts: Port[] = ports.map((p, i) => ({ name: p.name, mac: p.mac, mtu: p.mtu, address: p.address, tx: txs[i]! }));
    const engine = new Engine(enginePorts, new NeighbourTable({ capacity: task.neighbourCapacity, shared: task.neighbours }), new StatsViews(task.stats, task.index), { connections: task.connections, connectionBuffer: task.connectionBuffer, templates: task.templates });
    // Join the fanout groups in index order, so member i of every group is worker i and
    // the steering program's hash picks the same worker on every interface.
    while (Atomics.load(ctl, CTL.joinTurn) !== task.index) Atomics.wait(ctl, CTL.joinTurn, Atomics.load(ctl, CTL.joinTurn), 100);
    ports.forEach((p, i) => p.socket.joinFanout(task.fanoutBase + i, 'cbpf', { defrag: true }));
    Atomics.add(ctl, CTL.joinTurn, 1);
    Atomics.notify(ctl, CTL.joinTurn);

    let steering = '';
    const rings: RxRing[] = combined.rx.map((r) => r!);
    const poll = new PollSet(ports.map((p) => p.socket), rings);
    let readySignalled = false;
    while (Atomics.load(ctl, CTL.stop) === 0) {
      if (Atomics.load(ctl, CTL.published) !== engine.generation) {
        const snap = latestSnapshot(task.snapshots);
        if (snap) {
          engine.apply(snap);
          // The steering program depends on the VIP set; worker 0 sets it for every group.
          // Address VIPs, plus the destinations of the firewall-mark rules.
          const prefixes = new MarkClassifier(snap.markRules ?? []).destinationPrefixes();
          const newVips = snap.services.filter((s) => !s.fwmark).map((s) => s.address).sort((a, b) => a - b);
          const steeringKey = `${newVips.join()} ${prefixes.map((p) => `${p.net}/${p.len}`).join()}`;
          if (task.index === 0 && steeringKey !== steering) {
            const program = steeringProgram(newVips, prefixes);
            for (const p of ports) p.socket.setFanoutProgram(program);
          }
          steering = steeringKey;
          Atomics.store(ctl, CTL.applied + task.index, snap.generation);
          if (!readySignalled) {
            readySignalled = true;
            Atomics.add(ctl, CTL.ready, 1);
            Atomics.notify(ctl, CTL.ready);
          }
        }
      }
      const mask = poll.wait(50);
      const now = Date.now();
      if (mask !== 0) {
        for (let i = 0; i < rings.length; i++) {
          if ((mask & (1 << i)) === 0) continue;
          const rx = rings[i]!;
          for (let blocks = 0; blocks < rx.blockCount && rx.nextBlock() > 0; blocks++) {
            while (rx.nextFrame()) {
              if (rx.frameLength < rx.wireLength) engine.stats.engine[ENGINE.truncatedByRing]++;
              else engine.handle(rx.frameBytes, rx.frameOffset, rx.frameLength, rx.vnetOffset, rxParseFlags(rx), rx.packetType, i, now);
            }
            rx.releaseBlock();
          }
        }
      }
      engine.afterBatch(now);
    }
    return { index: task.index, connections: engine.conns.size };
  } catch (err) {
    Atomics.add(ctl, CTL.failed, 1);
    Atomics.notify(ctl, CTL.ready);
    // Let the next worker in line join even though this one failed.
    if (Atomics.load(ctl, CTL.joinTurn) === task.index) {
      Atomics.add(ctl, CTL.joinTurn, 1);
      Atomics.notify(ctl, CTL.joinTurn);
    }
    throw err;
  } finally {
    combined?.release();
    for (const p of ports) p.socket.close();
  }
}
