// `uvs forward --config FILE`: runs the balancing datapath (NAT/DR/TUN in worker threads)
// in this network namespace without the daemon, until SIGINT/SIGTERM or --duration, then
// prints the counters as JSON. SIGUSR2 prints the connection listing (templates and
// connections, as ipvsadm -Lc) as one JSON line. The daemon (uvsd) wraps the same Datapath.
//
//   uvs forward --config forward.json [--workers N] [--duration SECONDS] [--stats-interval SECONDS]

import { parseArgs } from 'node:util';
import { sendGratuitousArp } from '../frameio/interface.js';
import { ip4ToString } from '../packet/addr.js';
import { UvsError } from '../errors.js';
import { isolationRulesOf, loadForwardConfig, snapshotOf } from '../datapath/config.js';
import { KernelIsolation } from '../datapath/isolation.js';
import { Datapath } from '../datapath/pool.js';
import { kernelRoutes, prefixMask } from '../datapath/routes.js';
import { openPort } from '../datapath/ports.js';

const USAGE = 'usage: uvs forward --config FILE [--workers N] [--duration SECONDS] [--stats-interval SECONDS]';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      workers: { type: 'string', short: 'w' },
      duration: { type: 'string' },
      'stats-interval': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (!values.config) throw new UvsError('UVS_CONFIG', `--config FILE is required\n${USAGE}`);
  const cfg = loadForwardConfig(values.config);
  const workers = values.workers !== undefined ? Number(values.workers) : cfg.workers;
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1 && workers <= 16)) throw new UvsError('UVS_CONFIG', `--workers must be 1..16, got '${values.workers}'`);
  const duration = values.duration === undefined ? Infinity : Number(values.duration);
  if (!(duration > 0)) throw new UvsError('UVS_CONFIG', `--duration must be a positive number of seconds, got '${values.duration}'`);

  // Check the interfaces here, in the control thread, so a typo fails with one clear error
  // before any worker starts.
  const facts = cfg.interfaces.map((name) => {
    const p = openPort(name, { rxBlocks: 1, txFrames: 1 });
    p.socket.close();
    return p;
  });
  const slots = new Map<string, number>();
  const snapshot = snapshotOf(cfg, kernelRoutes(cfg.interfaces), slots);
  // Keep the director's kernel out of what uvs balances (its own nftables table). open()
  // first removes a table a killed uvs left behind.
  const isolation = await KernelIsolation.open({ table: 'uvs' });
  let dp: Datapath;
  try {
    await isolation.apply(isolationRulesOf(cfg));
    dp = await Datapath.start({ interfaces: cfg.interfaces, ...(workers ? { workers } : {}), ...(cfg.connections ? { connections: cfg.connections } : {}) }, { ...snapshot, generation: 0 });
  } catch (err) {
    await isolation.close();
    throw err;
  }
  process.stderr.write(`uvs forward: ${dp.workers} worker(s) on ${cfg.interfaces.join(', ')}; ${cfg.services.length} service(s)\n`);

  // Announce the floating addresses we now own (gratuitous ARP), on the interface whose
  // subnet holds each one, so neighbours' caches point at us at once.
  for (const addr of snapshot.owned) {
    const p = facts.find((f) => f.ipv4.some((a) => ((addr ^ a.address) & prefixMask(a.prefixLength)) >>> 0 === 0));
    if (p) sendGratuitousArp(p.name, ip4ToString(addr), { form: 'request' });
  }

  const stats = (): string => {
    const s = dp.stats.sum();
    return JSON.stringify({ ...s.engine, ...s.link, dropsByReason: s.reasons, servers: Object.fromEntries([...slots].map(([k, slot]) => [k, s.dests.get(slot) ?? {}])) });
  };
  // SIGHUP: re-read the config and publish it as a new generation; traffic keeps flowing
  // and established connections stay. A bad file leaves the running config in force.
  const configFile = values.config;
  let current = cfg;
  process.on('SIGHUP', () => {
    void (async () => {
      try {
        const next = loadForwardConfig(configFile);
        if (next.interfaces.join() !== current.interfaces.join()) throw new UvsError('UVS_CONFIG', `${configFile}: interfaces cannot change while running (${current.interfaces.join(', ')})`);
        await isolation.apply(isolationRulesOf(next));
        const generation = dp.publish(snapshotOf(next, kernelRoutes(next.interfaces), slots));
        await dp.applied(generation);
        current = next;
        process.stderr.write(`uvs forward: reloaded ${configFile}: generation ${generation}, ${next.services.length} service(s)\n`);
      } catch (err) {
        const e = err as { code?: string; message?: string };
        process.stderr.write(`uvs forward: reload failed, keeping the running config: ${e.code ? e.code + ': ' : ''}${e.message ?? String(err)}\n`);
      }
    })();
  });
  process.on('SIGUSR2', () => process.stdout.write(JSON.stringify({ connections: dp.connections() }) + '\n'));
  const interval = values['stats-interval'] ? Number(values['stats-interval']) * 1000 : 0;
  const timer = interval > 0 ? setInterval(() => process.stdout.write(stats() + '\n'), interval) : undefined;
  await new Promise<void>((resolve) => {
    // `on`, not `once`: a second signal during shutdown must not kill us before cleanup.
    process.on('SIGINT', () => resolve());
    process.on('SIGTERM', () => resolve());
    if (duration !== Infinity) setTimeout(resolve, duration * 1000);
  });
  if (timer) clearInterval(timer);
  await dp.stop();
  await isolation.close();
  process.stdout.write(stats() + '\n');
  return 0;
}
