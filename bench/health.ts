// bench/health: does health checking cost the datapath anything? 300 real servers (300 TCP
// listeners on loopback, in a child process, as remote hosts would be) checked every second
// by the HealthMonitor on the main thread — where uvsd runs it — while a worker thread
// pushes packets through the engine in memory (bench/tools/engine-measure.ts), as a
// datapath worker does. Rows alternate without and with checks, in one run; medians.
// Also printed: how evenly the checks ran (no server starved) and the main thread's
// event-loop delay. Numbers only; nothing is asserted.
//
//   node dist/bench/health.js [--servers 300] [--seconds 3] [--repeats 3]

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createServer } from 'node:net';
import { newServer, newService, emptyTable, type ServiceTable } from '../src/config/model.js';
import { createChecker } from '../src/health/checker.js';
import { HealthMonitor } from '../src/health/monitor.js';
import { watchesOf } from '../src/health/watches.js';
import { median } from './tools/measure.js';
import { inThreads } from './tools/engine-measure.js';

const BASE_PORT = 21000;

if (process.argv[2] === '--listeners') {
  // The child: N listeners that accept and close, as a healthy server's port would.
  const n = Number(process.argv[3]);
  let up = 0;
  for (let i = 0; i < n; i++) {
    createServer((s) => s.end()).listen(BASE_PORT + i, '127.0.0.1', () => {
      if (++up === n) process.send!('ready');
    });
  }
} else {
  const { values } = parseArgs({ options: { servers: { type: 'string', default: '300' }, seconds: { type: 'string', default: '3' }, repeats: { type: 'string', default: '3' } } });
  const servers = Math.min(1000, Math.max(1, Number(values.servers)));
  const seconds = Math.min(10, Math.max(1, Number(values.seconds)));
  const repeats = Math.min(9, Math.max(1, Number(values.repeats)));
  const child = fork(fileURLToPath(import.meta.url), ['--listeners', String(servers)], { stdio: 'inherit' });
  await new Promise<void>((resolve) => child.once('message', () => resolve()));

  const table: ServiceTable = emptyTable();
  const svc = newService({ protocol: 'tcp', address: '10.0.0.1', port: 80, fwmark: 0, family: 4 });
  svc.servers = Array.from({ length: servers }, (_, i) => ({ ...newServer('127.0.0.1', BASE_PORT + i), method: 'nat' as const, health: { kind: 'tcp' as const, interval: 1, timeout: 1, retries: 1, riseCount: 1 } }));
  table.services.push(svc);

  const nsPerPacket = { off: [] as number[], on: [] as number[] };
  const runsPerServerPerSecond: number[] = [];
  const delays: number[] = [];
  for (let r = 0; r < repeats; r++) {
    for (const checks of [false, true]) {
      let monitor: HealthMonitor | undefined;
      const loop = monitorEventLoopDelay({ resolution: 10 });
      if (checks) {
        monitor = new HealthMonitor({ createChecker });
        monitor.update(watchesOf(table).watches);
        loop.enable();
      }
      const before = monitor?.counters().checks.run ?? 0;
      const [res] = await inThreads({ seconds, flows: 4096, mode: 'engine', combined: true }, 1);
      nsPerPacket[checks ? 'on' : 'off'].push(res!.ns / res!.packets);
      if (monitor) {
        loop.disable();
        const statuses = monitor.status();
        const down = statuses.filter((s) => s.state !== 'up').length;
        if (down) process.stdout.write(`(${down} servers reported down: ${statuses.find((s) => s.state !== 'up')?.reason})\n`);
        runsPerServerPerSecond.push((monitor.counters().checks.run - before) / servers / seconds);
        delays.push(loop.max / 1e6);
        monitor.stop();
      }
    }
  }
  child.kill();
  const off = median(nsPerPacket.off);
  const on = median(nsPerPacket.on);
  process.stdout.write(`health: ${servers} real servers, TCP check every 1 s, engine in a worker thread for ${seconds} s per row, ${repeats} alternating repeats, medians\n\n`);
  process.stdout.write('| row | engine ns/packet, median (min–max) |\n| --- | --- |\n');
  process.stdout.write(`| no health checks | ${off.toFixed(0)} (${Math.min(...nsPerPacket.off).toFixed(0)}–${Math.max(...nsPerPacket.off).toFixed(0)}) |\n`);
  process.stdout.write(`| ${servers} checks per second | ${on.toFixed(0)} (${Math.min(...nsPerPacket.on).toFixed(0)}–${Math.max(...nsPerPacket.on).toFixed(0)}) |\n\n`);
  process.stdout.write(`with checks / without: ${(on / off).toFixed(2)}x\n`);
  process.stdout.write(`checks run per server per second: ${runsPerServerPerSecond.map((x) => x.toFixed(2)).join(', ')} (1.00 = none starved, the first second being the warmup spread)\n`);
  process.stdout.write(`main-thread event-loop delay, max per row: ${delays.map((d) => `${d.toFixed(1)} ms`).join(', ')}\n`);
}
