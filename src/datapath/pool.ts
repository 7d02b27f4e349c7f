// The datapath as the control thread sees it: a Piscina pool of worker threads, one
// long-running task each (worker.ts), fed immutable service-table snapshots by generation.
// publish() hands a new generation to every worker without stopping traffic; stats() sums
// the workers' shared counters; connections() lists the connection tables (shared memory);
// stop() raises the stop flag and waits for the tasks.

import os from 'node:os';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { UvsError } from '../errors.js';
import { ConnectionTable } from '../tables/connection-table.js';
import { listConnections, listTemplates, type ConnectionRow } from '../tables/listing.js';
import { NeighbourTable } from '../tables/neighbour.js';
import { TemplateTable } from '../tables/template-table.js';
import type { DatapathSnapshot } from './snapshot.js';
import { createSharedStats, StatsViews, type SharedStatsBuffers } from './stats.js';
import { CTL, type WorkerResult, type WorkerTask } from './worker.js';

export interface DatapathOptions {
  interfaces: string[];
  /** Worker threads. Default: the number of cores. */
  workers?: number;
  /** Connection-table entries per worker. Default 262144. */
  connections?: number;
  /** Real-server stats slots. Default 4096. */
  maxDests?: number;
  /** Persistence templates (shared by the workers). Default 65536. */
  templates?: number;
  /** How long start() waits for the workers (ms). Default 10000. */
  startTimeoutMs?: number;
}

export class Datapath {
  readonly workers: number;
  readonly statsBuffers: SharedStatsBuffers;
  readonly stats: StatsViews;
  private readonly pool: Piscina;
  private readonly control = new Int32Array(new SharedArrayBuffer(64 * 4));
  private readonly ports: MessagePort[] = [];
  private readonly tasks: Promise<WorkerResult>[] = [];
  /** Each worker's connection table (shared memory: listed from here) and the shared templates. */
  readonly connectionBuffers: SharedArrayBuffer[] = [];
  readonly templateBuffer: SharedArrayBuffer;
  private generation = 0;
  private failure: unknown;

  private constructor(options: DatapathOptions) {
    this.workers = Math.max(1, Math.min(16, options.workers ?? os.availableParallelism()));
    this.statsBuffers = createSharedStats(this.workers, options.maxDests ?? 4096);
    this.stats = new StatsViews(this.statsBuffers, -1);
    const connections = options.connections ?? 262144;
    for (let i = 0; i < this.workers; i++) this.connectionBuffers.push(new SharedArrayBuffer(ConnectionTable.bufferBytes(connections)));
    this.templateBuffer = TemplateTable.sharedBuffer(options.templates ?? 65536);
    this.pool = new Piscina({
      filename: new URL('./worker.js', import.meta.url).href,
      minThreads: this.workers,
      maxThreads: this.workers,
      concurrentTasksPerWorker: 1,
      idleTimeout: Infinity,
    });
  }

  /** Starts the workers and waits until each has its sockets and the first snapshot. */
  static async start(options: DatapathOptions, snapshot: DatapathSnapshot): Promise<Datapath> {
    const dp = new Datapath(options);
    const neighbourCapacity = 4096;
    const neighbours = NeighbourTable.sharedBuffer(neighbourCapacity);
    // Fanout group ids are per network namespace; derive ours from the pid so two uvs
    // processes in one namespace do not share groups.
    const fanoutBase = (process.pid * 16) & 0xfff0;
    for (let index = 0; index < dp.workers; index++) {
      const channel = new MessageChannel();
      dp.ports.push(channel.port1);
      const task: WorkerTask = {
        index,
        workers: dp.workers,
        interfaces: options.interfaces,
        fanoutBase,
        control: dp.control.buffer as SharedArrayBuffer,
        snapshots: channel.port2,
        stats: dp.statsBuffers,
        neighbours,
        neighbourCapacity,
        connections: options.connections ?? 262144,
        connectionBuffer: dp.connectionBuffers[index]!,
        templates: dp.templateBuffer,
      };
      const run = dp.pool.run(task, { transferList: [channel.port2] }) as Promise<WorkerResult>;
      run.catch((err: unknown) => {
        dp.failure ??= err;
      });
      dp.tasks.push(run);
    }
    dp.publish(snapshot);
    const until = Date.now() + (options.startTimeoutMs ?? 10_000);
    while (Atomics.load(dp.control, CTL.ready) + Atomics.load(dp.control, CTL.failed) < dp.workers && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 10));
    }
    if (dp.failure !== undefined || Atomics.load(dp.control, CTL.ready) < dp.workers) {
      await new Promise((r) => setTimeout(r, 50)); // let the failing task's rejection arrive
      const err = dp.failure;
      await dp.stop().catch(() => undefined);
      if (err instanceof Error) throw err;
      throw new UvsError('UVS_DATAPATH_START', `datapath workers did not start within ${options.startTimeoutMs ?? 10_000} ms`);
    }
    return dp;
  }

  /** Publishes a new service-table generation to every worker. Returns its number. */
  publish(snapshot: Omit<DatapathSnapshot, 'generation'> & { generation?: number }): number {
    const generation = ++this.generation;
    const snap: DatapathSnapshot = { ...snapshot, generation };
    for (const p of this.ports) p.postMessage(snap);
    Atomics.store(this.control, CTL.published, generation);
    return generation;
  }

  /** Resolves when every worker runs `generation` (or later). */
  async applied(generation: number, timeoutMs = 5000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      let all = true;
      for (let i = 0; i < this.workers; i++) if (Atomics.load(this.control, CTL.applied + i) < generation) all = false;
      if (all) return true;
      if (Date.now() > until) return false;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** The connection listing (ipvsadm -Lc): persistence templates, then every worker's connections. */
  connections(nowMs = Date.now()): ConnectionRow[] {
    return [...listTemplates(this.templateBuffer, nowMs), ...this.connectionBuffers.flatMap((b) => listConnections(b, nowMs))];
  }

  async stop(): Promise<WorkerResult[]> {
    Atomics.store(this.control, CTL.stop, 1);
    const results = await Promise.allSettled(this.tasks);
    for (const p of this.ports) p.close();
    await this.pool.destroy();
    return results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }
}
