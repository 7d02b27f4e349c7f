// A test bench for one scheduler: a service whose real servers have letter names, added
// in the order given (so listed newest first, as IPVS does), each with stats slot = its
// add index, plus helpers to pick, hold connections and change servers by name.
import { getScheduler, SchedFlow, SchedService } from '../../src/schedulers/index.js';
import { createDestCounters, type DestCounters } from '../../src/tables/dest-counters.js';

/** Dotted quad to uint32. */
export function ip(dotted: string): number {
  return dotted.split('.').reduce((a, b) => a * 256 + Number(b), 0);
}

/** Deterministic [0, 1) source (LCG), for injected randomness and random test data. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export interface BenchOptions {
  flags?: number;
  random?: () => number;
  /** Addresses by name (default 10.1.0.<add index + 1>), port 80. */
  addresses?: Record<string, string>;
}

export class Bench {
  readonly counters: DestCounters = createDestCounters(256);
  readonly svc: SchedService;
  readonly flow = new SchedFlow();
  /** Name by stats slot. */
  private readonly names: string[] = [];
  private readonly addresses: Record<string, string>;

  /** `added`: "A=3 B=2 C=1" — servers in the order ipvsadm -a adds them (name=weight). */
  constructor(scheduler: string, added: string, options: BenchOptions = {}) {
    this.addresses = options.addresses ?? {};
    this.svc = new SchedService(getScheduler(scheduler), this.counters, { flags: options.flags ?? 0, random: options.random ?? Math.random });
    this.flow.protocol = 6;
    for (const spec of added.split(/\s+/).filter(Boolean)) {
      const [name, weight] = spec.split('=');
      this.add(name!, Number(weight ?? 1));
    }
  }

  add(name: string, weight: number, port = 80): void {
    const slot = this.names.length;
    this.names.push(name);
    this.svc.addDest({ slot, address: ip(this.addresses[name] ?? `10.1.0.${slot + 1}`), port, weight });
  }

  slot(name: string): number {
    const slot = this.names.indexOf(name);
    if (slot < 0) throw new Error(`no server ${name}`);
    return slot;
  }

  position(name: string): number {
    return this.svc.positionOf(this.slot(name));
  }

  /** Name at list position `p`, or '-' for none. */
  nameAt(p: number): string {
    return p < 0 ? '-' : this.names[this.svc.destSlot[p]!]!;
  }

  /** Name of the server with stats slot `slot` (also after its removal). */
  nameOfSlot(slot: number): string {
    return this.names[slot]!;
  }

  edit(name: string, weight: number): void {
    this.svc.editDest(this.position(name), weight);
  }

  remove(name: string): void {
    this.svc.removeDest(this.position(name));
  }

  /** Sets a server's active (and inactive) connection counts. */
  load(name: string, active: number, inactive = 0): void {
    this.counters.active[this.slot(name)] = active;
    this.counters.inactive[this.slot(name)] = inactive;
  }

  active(name: string): number {
    return this.counters.active[this.slot(name)]!;
  }

  overload(name: string, on = true): void {
    this.counters.overload[this.slot(name)] = on ? 1 : 0;
  }

  /** One pick for the current flow; with `hold`, the chosen server gains an active connection. */
  pick(hold = true): string {
    const p = this.svc.schedule(this.flow);
    if (hold && p >= 0) this.counters.active[this.svc.destSlot[p]!]!++;
    return this.nameAt(p);
  }

  /** `count` picks, space separated. */
  picks(count: number, hold = true): string {
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(this.pick(hold));
    return out.join(' ');
  }

  /** The server for a client address (and port), without holding a connection. */
  client(addr: string, port = 0): string {
    this.flow.caddr = ip(addr);
    this.flow.cport = port;
    return this.pick(false);
  }

  /** The server for a packet destination address (dh, lblc, lblcr). */
  dest(addr: string, hold = true): string {
    this.flow.vaddr = ip(addr);
    return this.pick(hold);
  }
}
