// The uvs side of the packet-driven scenarios: a director made of uvs's own parts, in
// memory — ipvsadm command lines through runUvsadm (uvsadm's whole invocation, as uvsd runs
// it), the table through forwardConfigOf → snapshotOf → Engine.apply (uvsd's path from its
// model to the datapath, which keeps scheduler state across generations), and the frames
// the guest's injector sends fed to the Engine, whose output frames are read back from
// in-memory rings. Listings (-L with counts, -c connections) are built from the engine's
// counters and tables the way uvsd builds them. Time is virtual: the caller advances it.

import { emptyTable } from '../../../src/config/model.js';
import { forwardConfigOf } from '../../../src/daemon/forward-config.js';
import { destSlotKey, serviceName, snapshotOf } from '../../../src/datapath/config.js';
import { Engine } from '../../../src/datapath/engine.js';
import type { Port } from '../../../src/datapath/link.js';
import { MemoryTxRing } from '../../../src/datapath/memory-ring.js';
import type { DatapathSysctl } from '../../../src/datapath/snapshot.js';
import { createSharedStats, DEST, DEST_FIELDS, StatsViews } from '../../../src/datapath/stats.js';
import { runUvsadm, listingDataOf, zeroStats, type UvsadmState } from '../../../src/control/ipvsadm/index.js';
import type { ListingData } from '../../../src/control/ipvsadm/types.js';
import { ip4FromString, macFromString } from '../../../src/packet/addr.js';
import { parseMarkRules, type MarkRule } from '../../../src/tables/fwmark.js';
import { listConnections, listTemplates } from '../../../src/tables/listing.js';
import { NeighbourTable } from '../../../src/tables/neighbour.js';
import { NET } from '../scenarios/topology.js';

export interface CommandResult {
  rc: number;
  out: string;
  err: string;
}

const PORT_NAMES = ['pub', 'priv'];

export class EngineDirector {
  private state: UvsadmState = { table: emptyTable(), daemons: [] };
  private readonly engine: Engine;
  private readonly rings: MemoryTxRing[];
  private readonly slots = new Map<string, number>();
  private generation = 0;
  private markRules: MarkRule[] = [];
  private clients: readonly string[] = [];
  private sysctl: Partial<DatapathSysctl> = {};
  /** Virtual clock, ms. */
  now: number;

  constructor(start = 1_000_000) {
    this.now = start;
    this.rings = [new MemoryTxRing(64), new MemoryTxRing(64)];
    const ports: Port[] = [
      { name: 'pub', mac: macFromString(NET.dirPubMac), mtu: 1500, address: ip4FromString(NET.dirPub), tx: this.rings[0]! },
      { name: 'priv', mac: macFromString(NET.dirPrivMac), mtu: 1500, address: ip4FromString(NET.dirPriv), tx: this.rings[1]! },
    ];
    const stats = new StatsViews(createSharedStats(1, 256), 0);
    this.engine = new Engine(ports, new NeighbourTable(), stats, { connections: 4096 });
    this.applyTable();
  }

  /** Neighbours the guest has as permanent entries. */
  learn(clients: readonly string[]): void {
    this.clients = clients;
    const n = this.engine.link.neighbours;
    NET.servers.forEach((a, i) => n.learn(ip4FromString(a), macFromString(NET.serverMacs[i]!), 0, this.now, true));
    for (const c of clients) n.learn(ip4FromString(c), macFromString(NET.clientMac), 0, this.now, true);
  }

  /** Appends iptables-syntax MARK rules (the guest adds the equivalent nft rule). */
  addMarkRules(text: string): void {
    this.markRules = [...this.markRules, ...parseMarkRules(text, 'scenario')];
    this.applyTable();
  }

  /** An IPVS sysctl by its /proc/sys/net/ipv4/vs name, as uvsd takes it in its datapath settings. */
  setSysctl(name: 'expire_nodest_conn' | 'expire_quiescent_template' | 'sloppy_tcp' | 'conn_reuse_mode', value: number): void {
    const field = ({ expire_nodest_conn: 'expireNodestConn', expire_quiescent_template: 'expireQuiescentTemplate', sloppy_tcp: 'sloppyTcp', conn_reuse_mode: 'connReuseMode' } as const)[name];
    this.sysctl = { ...this.sysctl, [field]: value };
    this.applyTable();
  }

  private applyTable(): void {
    const { config } = forwardConfigOf(this.state.table, { interfaces: PORT_NAMES, markRules: this.markRules, sysctl: this.sysctl });
    const routes = [
      { net: ip4FromString('198.18.0.0'), len: 16, port: 0, gateway: 0 },
      { net: ip4FromString('198.19.0.0'), len: 24, port: 1, gateway: 0 },
    ];
    this.engine.apply({ ...snapshotOf(config, routes, this.slots), generation: ++this.generation });
  }

  private listing(state: UvsadmState): ListingData {
    const counters = this.engine.stats.counters;
    const conns = [...listConnections(this.engine.conns.buffer, this.now), ...listTemplates(this.engine.templates.buffer, this.now)];
    const data = listingDataOf(state.table, { connections: conns, daemons: state.daemons });
    const { config } = forwardConfigOf(state.table, { interfaces: PORT_NAMES, markRules: this.markRules });
    for (const ls of data.services) {
      const fs = config.services.find((s) => s.fwmark === ls.service.fwmark && (s.fwmark !== 0 || (s.address === ls.service.address && s.port === ls.service.port && s.protocol === ls.service.protocol)));
      // As uvsd: a server's traffic counters from its stats slot; the service's, the sum over
      // every slot it ever had (servers deleted from it included, as IPVS counts them).
      const svc = zeroStats();
      const dest = (slot: number, k: keyof typeof DEST): number => this.engine.stats.dest[slot * DEST_FIELDS + DEST[k]]!;
      if (fs) {
        const prefix = `${serviceName(fs)} -> `;
        for (const [key, slot] of this.slots) {
          if (!key.startsWith(prefix)) continue;
          svc.conns = Number(svc.conns) + dest(slot, 'conns');
          svc.inpkts = Number(svc.inpkts) + dest(slot, 'inPkts');
          svc.outpkts = Number(svc.outpkts) + dest(slot, 'outPkts');
          svc.inbytes = Number(svc.inbytes) + dest(slot, 'inBytes');
          svc.outbytes = Number(svc.outbytes) + dest(slot, 'outBytes');
        }
      }
      for (const ld of ls.servers) {
        const slot = fs ? this.slots.get(destSlotKey(fs, ld.server)) : undefined;
        if (slot === undefined) continue;
        ld.activeConns = counters.active[slot]!;
        ld.inactConns = counters.inactive[slot]!;
        ld.persistConns = counters.persist[slot]!;
        ld.stats = { ...zeroStats(), conns: dest(slot, 'conns'), inpkts: dest(slot, 'inPkts'), outpkts: dest(slot, 'outPkts'), inbytes: dest(slot, 'inBytes'), outbytes: dest(slot, 'outBytes') };
      }
      ls.stats = svc;
    }
    return data;
  }

  ipvsadm(argv: readonly string[]): CommandResult {
    const r = runUvsadm(this.state, argv, { listing: (s) => this.listing(s) });
    const changed = r.state !== this.state;
    this.state = r.state;
    if (changed) this.applyTable();
    return { rc: r.exitCode, out: r.stdout, err: r.stderr };
  }

  /** Feeds one frame arriving on pub ('c') or priv ('s'); returns the frames the engine sent, with the side they left on. */
  send(frame: Uint8Array, side: 'c' | 's'): { side: 'c' | 's'; frame: Uint8Array }[] {
    this.now += 1;
    const before = this.rings.map((r) => r.committed);
    const rx = new Uint8Array(frame.length + 16);
    rx.set(frame, 16);
    this.engine.handle(rx, 16, frame.length, 6, 0, 0, side === 'c' ? 0 : 1, this.now);
    this.engine.afterBatch(this.now);
    const out: { side: 'c' | 's'; frame: Uint8Array }[] = [];
    this.rings.forEach((ring, i) => {
      const n = ring.committed - before[i]!;
      for (let k = n - 1; k >= 0; k--) out.push({ side: i === 0 ? 'c' : 's', frame: ring.frame(k) });
    });
    return out;
  }

  /** Lets virtual time pass (timers: connection and template expiry). */
  advance(ms: number): void {
    const step = 500;
    for (let t = 0; t < ms; t += step) {
      this.now += Math.min(step, ms - t);
      this.engine.afterBatch(this.now);
    }
    this.learn(this.clients); // the guest's neighbours are permanent
  }
}
