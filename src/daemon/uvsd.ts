// uvsd, the daemon: one per director (network namespace). It owns the configuration model
// (src/config/model.ts), the datapath workers (src/datapath/pool.ts), the kernel isolation
// rules, the statistics and their rate estimators, and the admin socket uvsadm talks to.
// Every change goes the same way: a new model is validated, converted to a service-table
// snapshot, the isolation rules are applied, the snapshot is published, and only then does
// it become the running model — a change that fails anywhere leaves the running one in
// force.
//
// SIGHUP re-reads the config file and applies only the difference: services and servers
// that stay keep their connections and scheduler state (Engine.apply edits lists), and a
// removed real server is first drained — kept at weight 0 until it has no active
// connection left (or the drain timeout passes) — then removed.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { UvsError } from '../errors.js';
import { destSlotKey, isolationRulesOf, serviceName, snapshotOf, type ForwardConfig, type ForwardService } from '../datapath/config.js';
import { KernelIsolation } from '../datapath/isolation.js';
import { Datapath } from '../datapath/pool.js';
import { kernelRoutes, prefixMask } from '../datapath/routes.js';
import { openPort } from '../datapath/ports.js';
import { interfaceInfo, sendGratuitousArp } from '../frameio/interface.js';
import { ip4FromString } from '../packet/addr.js';
import { parseMarkRules, type MarkRule } from '../tables/fwmark.js';
import { DEFAULT_TIMEOUTS, TCP_ESTABLISHED, TCP_FIN_WAIT, UDP_STATE } from '../tables/tcp-states.js';
import { emptyTable, sameServer, sameService, serviceKey, type RealServer, type ServiceTable, type VirtualService } from '../config/model.js';
import { forwardConfigOf } from './forward-config.js';
import { createChecker } from '../health/checker.js';
import { effectiveTable, type QuorumStates } from '../health/decide.js';
import { HealthMonitor, type ServerStatus } from '../health/monitor.js';
import { watchesOf, watchKey } from '../health/watches.js';
import { addCounters, ESTIMATOR_INTERVAL_MS, RateEstimator, subCounters, ZERO_COUNTERS, type Counters } from './estimator.js';
import { listingDataOf, parseArgs, runUvsadm, type ListingData, type Stats, type SyncDaemon } from '../control/ipvsadm/index.js';
import { MAX_LINE, type Request, type Response } from './protocol.js';
import type { DaemonPaths } from './paths.js';

export interface UvsdOptions {
  paths: DaemonPaths;
  logger: Logger;
  /** Config file (any dialect); absent = start empty, configured through uvsadm. */
  configFile?: string;
  /** Loads a config file into the model (src/config/detect.ts loadConfig). */
  load: (file: string) => ServiceTable;
  /** Checks a model; throws a UvsError naming what is wrong (src/config/validate.ts). */
  validate: (table: ServiceTable) => void;
  /** Datapath interfaces; default every interface that is up, but lo. */
  interfaces?: string[];
  workers?: number;
  /** Connection-table entries per worker. */
  connections?: number;
  /** Firewall-mark rules file (iptables-shaped MARK rules). */
  markRulesFile?: string;
  /** Floating addresses to answer ARP for besides the config's (e.g. the real servers' NAT gateway). */
  owned?: string[];
  /** How long a server removed by a reload drains at weight 0 at most (ms). Default 60000. */
  drainMs?: number;
  /** nftables table name for isolation. Default 'uvs'. */
  isolationTable?: string;
  /** Run the health checks the config describes (default true). */
  health?: boolean;
  /** Health checks in flight at most (default 64). */
  healthConcurrency?: number;
}

interface Draining {
  service: VirtualService;
  server: RealServer;
  until: number;
}

/** The identity fields of a service as the datapath config names it (stats-slot keys). */
function forwardIdentity(s: VirtualService): ForwardService {
  return { protocol: s.protocol === 'udp' ? 'udp' : 'tcp', address: s.fwmark !== 0 ? '0.0.0.0' : s.address, port: s.port, fwmark: s.fwmark } as ForwardService;
}

export class Uvsd {
  private table: ServiceTable = emptyTable();
  private draining: Draining[] = [];
  private readonly slots = new Map<string, number>();
  private readonly baselines = new Map<string, Counters>();
  private readonly estimators = new Map<string, RateEstimator>();
  private markRules: MarkRule[] = [];
  /** Sync daemons started with --start-daemon (listed; no sync traffic yet). */
  private daemons: SyncDaemon[] = [];
  private server?: Server;
  private timers: NodeJS.Timeout[] = [];
  private interfaces: string[] = [];
  private busy: Promise<unknown> = Promise.resolve();
  /** The table the datapath runs: the model with drains and health applied (health/decide.ts). */
  private running: ServiceTable = emptyTable();
  private quorum: QuorumStates = new Map();
  private monitor?: HealthMonitor;

  private constructor(
    private readonly options: UvsdOptions,
    private readonly dp: Datapath,
    private readonly isolation: KernelIsolation,
  ) {}

  get log(): Logger {
    return this.options.logger;
  }

  /** Starts the datapath with the config file's model (or an empty one) and opens the admin socket. */
  static async start(options: UvsdOptions): Promise<Uvsd> {
    const interfaces = options.interfaces ?? upInterfaces();
    const markRules = options.markRulesFile ? parseMarkRules(readFileSync(options.markRulesFile, 'utf8'), options.markRulesFile) : [];
    const table = options.configFile ? options.load(options.configFile) : emptyTable();
    options.validate(table);
    const settings = { interfaces, markRules, owned: options.owned ?? [], ...(options.workers ? { workers: options.workers } : {}), ...(options.connections ? { connections: options.connections } : {}) };
    if (settings.interfaces.length === 0) throw new UvsError('UVS_DAEMON', 'no network interface is up besides lo: nothing to balance on (give --interfaces)');
    for (const name of settings.interfaces) openPort(name, { rxBlocks: 1, txFrames: 1 }).socket.close(); // one clear error for a wrong name
    const slots = new Map<string, number>();
    const { config, skipped } = forwardConfigOf(table, settings);
    const snapshot = snapshotOf(config, kernelRoutes(config.interfaces), slots);
    const isolation = await KernelIsolation.open({ table: options.isolationTable ?? 'uvs' });
    let dp: Datapath;
    try {
      await isolation.apply(isolationRulesOf(config));
      dp = await Datapath.start({ interfaces: config.interfaces, ...(options.workers ? { workers: options.workers } : {}), ...(options.connections ? { connections: options.connections } : {}) }, { ...snapshot, generation: 0 });
    } catch (err) {
      await isolation.close();
      throw err;
    }
    const d = new Uvsd(options, dp, isolation);
    for (const [k, v] of slots) d.slots.set(k, v);
    d.table = table;
    d.running = table;
    d.markRules = markRules;
    d.interfaces = config.interfaces;
    if (options.health !== false) d.startHealth();
    if (skipped.length) d.log.warn({ skipped }, 'services the datapath does not balance (IPv6/SCTP) are kept in the table only');
    d.announce(config);
    await d.listen();
    d.timers.push(setInterval(() => d.tickEstimators(), ESTIMATOR_INTERVAL_MS));
    d.timers.push(setInterval(() => void d.serialized(() => d.finishDrains()), 1000));
    d.log.info({ workers: dp.workers, interfaces: config.interfaces, services: table.services.length, socket: options.paths.socket, config: options.configFile ?? null }, 'uvsd started');
    return d;
  }

  /** The running model (what uvsadm -S saves). */
  get model(): ServiceTable {
    return this.table;
  }

  /** Runs changes one at a time, in arrival order. */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.busy.then(fn, fn);
    this.busy = next.catch(() => undefined);
    return next;
  }

  /** The model plus servers still draining (at weight 0). */
  private withDrains(table: ServiceTable): ServiceTable {
    if (this.draining.length === 0) return table;
    return {
      ...table,
      services: table.services.map((s) => {
        const extra = this.draining.filter((d) => sameService(d.service, s) && !s.servers.some((x) => sameServer(x, d.server)));
        return extra.length === 0 ? s : { ...s, servers: [...s.servers, ...extra.map((d) => ({ ...d.server, weight: 0 }))] };
      }),
    };
  }

  /** What the datapath should run for model `table`: drains, then health (down servers out or quiesced, dynamic weights, sorry servers). */
  private effective(table: ServiceTable): { table: ServiceTable; quorum: QuorumStates; changes: string[] } {
    const drained = this.withDrains(table);
    if (!this.monitor) return { table: drained, quorum: this.quorum, changes: [] };
    const eff = effectiveTable(drained, this.monitor.view(), this.quorum);
    return { table: eff.table, quorum: eff.quorum, changes: eff.changes.map((c) => JSON.stringify(c)) };
  }

  /** Starts watching every real server with a check; transitions re-install the table. */
  private startHealth(): void {
    this.monitor = new HealthMonitor({
      createChecker,
      concurrency: this.options.healthConcurrency ?? 64,
      onTransition: (e) => this.log.info({ server: e.key, from: e.from, to: e.to, reason: e.reason }, `real server ${e.to}`),
      onChange: () => {
        void this.serialized(() => this.install(this.table, 'health')).catch((err: unknown) => this.log.error({ err }, 'applying a health change failed'));
      },
    });
    this.watch(this.table);
  }

  private watch(table: ServiceTable): void {
    if (!this.monitor) return;
    const { watches, warnings } = watchesOf(table);
    for (const w of warnings) this.log.warn(w);
    this.monitor.update(watches);
  }

  /** Validates and runs `next`; the running model changes only if everything succeeded. */
  private async install(next: ServiceTable, why: string): Promise<void> {
    this.options.validate(next);
    const eff = this.effective(next);
    const { config, skipped } = forwardConfigOf(eff.table, { interfaces: this.interfaces, markRules: this.markRules, owned: this.options.owned ?? [] });
    const snapshot = snapshotOf(config, kernelRoutes(config.interfaces), this.slots);
    await this.isolation.apply(isolationRulesOf(config));
    const generation = this.dp.publish(snapshot);
    if (!(await this.dp.applied(generation))) throw new UvsError('UVS_DAEMON', `the datapath workers did not take generation ${generation}`);
    const before = new Set(this.table.services.filter((s) => s.fwmark === 0).map((s) => s.address));
    // A service that goes takes its totals with it: one created again with the same address starts from 0.
    const gone = this.running.services.filter((s) => !eff.table.services.some((n) => sameService(n, s)));
    if (gone.length) {
      const sums = this.dp.stats.sum().dests;
      const by = this.slotsByService();
      for (const s of gone) this.baselineRetired(s, sums, by, true);
    }
    const modelChanged = next !== this.table;
    this.table = next;
    this.running = eff.table;
    this.quorum = eff.quorum;
    if (modelChanged) this.watch(next);
    if (eff.changes.length) this.log.info({ changes: eff.changes }, 'health applied');
    if (skipped.length) this.log.warn({ skipped }, 'services the datapath does not balance (IPv6/SCTP) are kept in the table only');
    this.announce(config, before);
    this.log.info({ why, generation, services: next.services.length, draining: this.draining.length }, 'table applied');
  }

  /** Gratuitous ARP for owned addresses that are new (all of them at start). */
  private announce(config: ForwardConfig, known = new Set<string>()): void {
    const addresses = [...new Set([...config.services.filter((s) => s.fwmark === 0).map((s) => s.address), ...config.owned])].filter((a) => !known.has(a));
    if (addresses.length === 0) return;
    // Each interface's subnets, read once (no socket needed).
    const subnets = config.interfaces.map((name) => ({ name, ipv4: interfaceInfo(name).ipv4.map((x) => ({ address: ip4FromString(x.address), prefixLength: x.prefixLength })) }));
    for (const addr of addresses) {
      const a = ip4FromString(addr);
      for (const { name, ipv4 } of subnets) {
        if (!ipv4.some((x) => ((a ^ x.address) & prefixMask(x.prefixLength)) >>> 0 === 0)) continue;
        try {
          sendGratuitousArp(name, addr, { form: 'request' });
        } catch (err) {
          this.log.warn({ err, addr, name }, 'gratuitous ARP failed');
        }
      }
    }
  }


  /** Re-reads the config file and applies the difference (SIGHUP). */
  reload(): Promise<void> {
    return this.serialized(async () => {
      const file = this.options.configFile;
      if (!file) throw new UvsError('UVS_DAEMON', 'uvsd was started without a config file: nothing to reload');
      const next = this.options.load(file);
      const now = Date.now();
      // Servers the new file drops are drained at weight 0 first.
      const drains: Draining[] = [...this.draining];
      for (const s of this.table.services) {
        const ns = next.services.find((x) => sameService(x, s));
        if (!ns) continue; // a removed service goes at once, as ipvsadm -D
        for (const d of s.servers) if (!ns.servers.some((x) => sameServer(x, d)) && !drains.some((x) => sameService(x.service, s) && sameServer(x.server, d))) drains.push({ service: s, server: d, until: now + (this.options.drainMs ?? 60_000) });
      }
      const old = this.draining;
      this.draining = drains.filter((d) => { const ns = next.services.find((x) => sameService(x, d.service)); return ns !== undefined && !ns.servers.some((x) => sameServer(x, d.server)); });
      try {
        await this.install(next, `reload ${file}`);
      } catch (err) {
        this.draining = old;
        throw err;
      }
    });
  }

  /** Drops drained servers without active connections (or whose time is up). */
  private async finishDrains(): Promise<void> {
    if (this.draining.length === 0) return;
    const now = Date.now();
    const sums = this.dp.stats.sum().dests;
    const done = this.draining.filter((d) => {
      const slot = this.slotOf(d.service, d.server);
      const rec = slot === undefined ? undefined : sums.get(slot);
      // Done when no connection is active any more: what is left is TIME_WAIT and the like,
      // which would otherwise hold the server for minutes.
      return now >= d.until || !rec || rec.active! === 0;
    });
    if (done.length === 0) return;
    this.draining = this.draining.filter((d) => !done.includes(d));
    try {
      await this.install(this.table, `drained ${done.map((d) => `${serviceKey(d.service)} -> ${d.server.address}:${d.server.port}`).join(', ')}`);
    } catch (err) {
      this.draining.push(...done);
      this.log.error({ err }, 'removing drained servers failed');
    }
  }

  /** Replaces the whole model (uvsadm -R, or a config pushed over the socket). */
  replace(table: ServiceTable, why: string): Promise<void> {
    return this.serialized(() => this.install(table, why));
  }

  private slotOf(s: VirtualService, d: RealServer): number | undefined {
    return this.slots.get(destSlotKey(forwardIdentity(s), d));
  }

  /** Stats slots by the service they belong to (slot keys are "<service> -> <server>"). */
  private slotsByService(): Map<string, [string, number][]> {
    const by = new Map<string, [string, number][]>();
    for (const [key, slot] of this.slots) {
      const service = key.slice(0, key.lastIndexOf(' -> '));
      let list = by.get(service);
      if (!list) by.set(service, (list = []));
      list.push([key, slot]);
    }
    return by;
  }

  /**
   * Stats slots of servers that were in service `s` and are not now (deleted, or removed by
   * health): IPVS counts every packet of a service in the service's own counters, so their
   * traffic stays in its totals, as it does in the kernel's (found by test/conformance).
   */
  private retiredSlots(s: VirtualService, by: Map<string, [string, number][]>): [string, number][] {
    const fs = forwardIdentity(s);
    const current = new Set(s.servers.map((d) => destSlotKey(fs, d)));
    return (by.get(serviceName(fs)) ?? []).filter(([key]) => !current.has(key));
  }

  private retiredCounters(s: VirtualService, sums: Map<number, Record<string, number>>, by: Map<string, [string, number][]>): Counters {
    let c = { ...ZERO_COUNTERS };
    for (const [key, slot] of this.retiredSlots(s, by)) c = addCounters(c, this.since(`R ${key}`, this.rawCounters(slot, sums)));
    return c;
  }

  /** From now on the retired servers of `s` (with `all`, every server it had) add nothing to its totals: after -Z, or when the service goes. */
  private baselineRetired(s: VirtualService, sums: Map<number, Record<string, number>>, by: Map<string, [string, number][]>, all = false): void {
    const slots = all ? (by.get(serviceName(forwardIdentity(s))) ?? []) : this.retiredSlots(s, by);
    for (const [key, slot] of slots) this.baselines.set(`R ${key}`, this.rawCounters(slot, sums));
  }

  private rawCounters(slot: number | undefined, sums: Map<number, Record<string, number>>): Counters {
    const r = slot === undefined ? undefined : sums.get(slot);
    if (!r) return { ...ZERO_COUNTERS };
    return { conns: r.conns ?? 0, inPkts: r.inPkts ?? 0, outPkts: r.outPkts ?? 0, inBytes: r.inBytes ?? 0, outBytes: r.outBytes ?? 0 };
  }

  /** Counters since the last -Z for a stats key. */
  private since(key: string, raw: Counters): Counters {
    return subCounters(raw, this.baselines.get(key) ?? ZERO_COUNTERS);
  }

  private estimator(key: string): RateEstimator {
    let e = this.estimators.get(key);
    if (!e) {
      e = new RateEstimator();
      this.estimators.set(key, e);
    }
    return e;
  }

  /** Every record the listing shows, by key: "S <service>", "D <service> -> <server>", "total". */
  private records(): Map<string, { counters: Counters; active: number; inactive: number; persist: number }> {
    const sums = this.dp.stats.sum().dests;
    const by = this.slotsByService();
    const out = new Map<string, { counters: Counters; active: number; inactive: number; persist: number }>();
    let total = { ...ZERO_COUNTERS };
    for (const s of this.running.services) {
      let svc = { ...ZERO_COUNTERS };
      for (const d of s.servers) {
        const slot = this.slotOf(s, d);
        const key = `D ${serviceKey(s)} -> ${d.address}:${d.port}`;
        const counters = this.since(key, this.rawCounters(slot, sums));
        const r = slot === undefined ? undefined : sums.get(slot);
        out.set(key, { counters, active: r?.active ?? 0, inactive: r?.inactive ?? 0, persist: r?.persist ?? 0 });
        svc = addCounters(svc, counters);
      }
      svc = addCounters(svc, this.retiredCounters(s, sums, by));
      out.set(`S ${serviceKey(s)}`, { counters: svc, active: 0, inactive: 0, persist: 0 });
      total = addCounters(total, svc);
    }
    out.set('total', { counters: total, active: 0, inactive: 0, persist: 0 });
    return out;
  }

  private tickEstimators(): void {
    for (const [key, rec] of this.records()) this.estimator(key).tick(rec.counters);
  }

  /** -Z: counters and rates of one service (and its servers), or of everything, start again from 0. */
  zero(service?: Pick<VirtualService, 'protocol' | 'address' | 'port' | 'fwmark' | 'family'>): void {
    const sums = this.dp.stats.sum().dests;
    const by = this.slotsByService();
    for (const s of this.running.services) {
      if (service && !sameService(s, service)) continue;
      for (const d of s.servers) {
        const key = `D ${serviceKey(s)} -> ${d.address}:${d.port}`;
        const raw = this.rawCounters(this.slotOf(s, d), sums);
        this.baselines.set(key, raw);
      }
      this.baselineRetired(s, sums, by);
    }
    for (const [key, rec] of this.records()) if (!service || key === 'total' || key.includes(serviceKey(service))) this.estimator(key).reset(rec.counters);
  }

  /** What a listing of `table` shows (counters since -Z, rates, connection counts), for uvsadm. */
  listingData(table: ServiceTable, withConnections: boolean, healthView = false): ListingData {
    const recs = this.records();
    const stats = (key: string): Stats => {
      const c = recs.get(key)?.counters ?? ZERO_COUNTERS;
      const r = this.estimator(key).rates();
      return { conns: c.conns, inpkts: c.inPkts, outpkts: c.outPkts, inbytes: c.inBytes, outbytes: c.outBytes, cps: r.cps, inpps: r.inPps, outpps: r.outPps, inbps: r.inBps, outbps: r.outBps };
    };
    // What the datapath runs — as ipvsadm shows the kernel's table under keepalived (down
    // servers gone or at weight 0) — except for --health/--json, which show every configured
    // server with its health.
    const shown = table !== this.table ? table : healthView ? this.withDrains(table) : this.running;
    const statuses = new Map<string, ServerStatus>(healthView && this.monitor ? this.monitor.status().map((st) => [st.key, st]) : []);
    const data = listingDataOf(shown, withConnections ? { connections: this.dp.connections() } : {});
    // The model's listing with zero counters, overlaid with the live ones.
    for (const ls of data.services) {
      ls.stats = stats(`S ${serviceKey(ls.service)}`);
      for (const ld of ls.servers) {
        const key = `D ${serviceKey(ls.service)} -> ${ld.server.address}:${ld.server.port}`;
        const r = recs.get(key);
        ld.stats = stats(key);
        ld.activeConns = r?.active ?? 0;
        ld.inactConns = r?.inactive ?? 0;
        ld.persistConns = r?.persist ?? 0;
        const h = statuses.get(watchKey(ls.service, ld.server));
        if (h) {
          ld.health = {
            state: h.state,
            since: h.since,
            reason: h.reason,
            weight: h.weight,
            configuredWeight: h.configuredWeight,
            checks: h.checks.map((c) => ({ kind: c.kind, label: c.label, ...(c.last ? { ok: c.last.ok, reason: c.last.reason, at: c.last.at, ms: c.last.ms } : {}) })),
          };
        }
      }
    }
    return data;
  }

  /** A whole uvsadm invocation (argv as ipvsadm takes it), run against the live table. */
  run(argv: string[], prog: string, stdin: string | undefined): Promise<Response> {
    return this.serialized(async () => {
      // Reading every worker's table is only worth it for -L -c.
      const parsed = parseArgs(argv, { prog });
      const wantsConnections = parsed.ok && parsed.command.kind === 'list' && parsed.command.view === 'connections';
      const healthView = parsed.ok && parsed.command.kind === 'list' && (parsed.command.format.health || parsed.command.format.json);
      const outcome = runUvsadm({ table: this.table, daemons: this.daemons }, argv, {
        prog,
        ...(stdin !== undefined ? { stdin } : {}),
        listing: (state) => ({ ...this.listingData(state.table, wantsConnections, healthView), daemons: state.daemons }),
      });
      this.daemons = outcome.state.daemons;
      if (outcome.state.table !== this.table) {
        try {
          await this.install(outcome.state.table, `${prog} ${argv.join(' ')}`);
        } catch (err) {
          const e = err as { message?: string };
          this.log.warn({ err, argv }, 'uvsadm change refused by the datapath');
          return { ok: true, stdout: outcome.stdout, stderr: `${outcome.stderr}${e.message ?? String(err)}\n`, exitCode: 255 };
        }
      }
      for (const c of outcome.applied) if (c.kind === 'zero') this.zero(c.service ?? undefined);
      return { ok: true, stdout: outcome.stdout, stderr: outcome.stderr, exitCode: outcome.exitCode };
    });
  }

  /** One admin request. */
  async handle(req: Request): Promise<Response> {
    switch (req.op) {
      case 'ping':
        return { ok: true, pid: process.pid };
      case 'run':
        return this.run((req.argv as string[]).map(String), String(req.prog ?? 'ipvsadm'), typeof req.stdin === 'string' ? req.stdin : undefined);
      case 'listing':
        return { ok: true, listing: this.listingData(this.table, req.connections === true) as unknown as Record<string, unknown> };
      case 'table':
        return { ok: true, table: this.table };
      case 'replace':
        await this.replace(req.table as ServiceTable, String(req.why ?? 'replace'));
        return { ok: true };
      case 'zero':
        this.zero(req.service as VirtualService | undefined);
        return { ok: true };
      case 'reload':
        await this.reload();
        return { ok: true };
      case 'stats':
        return { ok: true, stats: this.dp.stats.sum() as unknown as Record<string, unknown> };
      case 'shutdown':
        setImmediate(() => process.kill(process.pid, 'SIGTERM'));
        return { ok: true };
      default:
        return { ok: false, error: `unknown op '${req.op}'`, exitCode: 2 };
    }
  }

  private async listen(): Promise<void> {
    const path = this.options.paths.socket;
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    rmSync(path, { force: true }); // a stale socket of a dead daemon (uvsadm checked nobody answers)
    const server = createServer((sock) => this.serve(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    chmodSync(path, 0o600);
    writeFileSync(this.options.paths.pid, `${process.pid}\n`);
    this.server = server;
  }

  private serve(sock: Socket): void {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => undefined);
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.length > MAX_LINE) {
        sock.destroy();
        return;
      }
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        void this.answer(sock, line);
      }
    });
  }

  private async answer(sock: Socket, line: string): Promise<void> {
    let id: unknown = null;
    let res: Response;
    try {
      const req = JSON.parse(line) as Request & { id?: unknown };
      id = req.id ?? null;
      if (typeof req.op !== 'string') throw new UvsError('UVS_DAEMON_PROTOCOL', 'a request needs an "op"');
      res = await this.handle(req);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      res = { ok: false, error: e.message ?? String(err), exitCode: 255, ...(e.code ? { code: e.code } : {}) };
    }
    if (!sock.destroyed) sock.write(JSON.stringify({ id, ...res }) + '\n');
  }

  /** SIGTERM: socket closed, workers stopped, isolation rules removed. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.monitor?.stop();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    rmSync(this.options.paths.socket, { force: true });
    rmSync(this.options.paths.pid, { force: true });
    await this.dp.stop();
    await this.isolation.close();
    this.log.info('uvsd stopped');
  }
}

/** Every interface that is up, but loopback (`ip -j link`). */
export function upInterfaces(): string[] {
  const json = execFileSync('ip', ['-j', 'link', 'show', 'up'], { encoding: 'utf8' });
  return (JSON.parse(json) as { ifname: string; flags?: string[] }[]).filter((l) => !(l.flags ?? []).includes('LOOPBACK')).map((l) => l.ifname.split('@')[0]!);
}
