// Classic BPF (cBPF) for socket filters (SO_ATTACH_FILTER) and fanout steering programs
// (PACKET_FANOUT_DATA). Programs are passed to the native shim as a Uint32Array with two
// words per instruction: [code | jt << 16 | jf << 24, k].
//
// Two ways to build one:
//   encode([stmt(BPF.LD | BPF.H | BPF.ABS, 12), jump(BPF.JMP | BPF.JEQ | BPF.K, 0x0800, 0, 1),
//           stmt(BPF.RET | BPF.K, 0xffff), stmt(BPF.RET | BPF.K, 0)])
// or the tiny assembler (bpf_asm / `tcpdump -d` style, one instruction per line):
//   assemble(`
//         ldh [12]
//         jeq #0x800, ok, drop
//     ok: ret #65535
//   drop: ret #0`)
//
// Assembler syntax: `label:` prefixes; comments after `;` or `//`; numbers decimal or 0x.
//   ld/ldh/ldb [k] | [x + k]        ld #k | #len | M[k] | #<ancillary>
//   ldx #k | #len | M[k] | 4*([k]&0xf)   (ldxb 4*([k]&0xf) too)
//   st M[k], stx M[k]
//   add sub mul div mod and or xor lsh rsh   #k | x      neg
//   ja label                          (jmp is an alias)
//   jeq jneq jgt jge jlt jle jset     #k | x, label_true[, label_false]
//   tax, txa, ret #k | a
// Ancillary loads: #proto #type (pkttype) #ifidx #mark #queue #hatype #rxhash #cpu
//   #vlan_tci #vlan_avail #poff #rand

import { invalidArgument } from './errors.js';

export interface BpfInstruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** Opcode fields (linux/bpf_common.h). */
export const BPF = {
  // classes
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  RET: 0x06,
  MISC: 0x07,
  // sizes
  W: 0x00,
  H: 0x08,
  B: 0x10,
  // modes
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  LEN: 0x80,
  MSH: 0xa0,
  // alu ops
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  // jumps
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  // sources
  K: 0x00,
  X: 0x08,
  // ret source
  A: 0x10,
  // misc
  TAX: 0x00,
  TXA: 0x80,
} as const;

/** Ancillary data offsets (SKF_AD_OFF + n) usable with `ld [k]`-style absolute loads. */
export const SKF_AD_OFF = -0x1000;
export const SKF_AD = {
  proto: 0,
  type: 4,
  ifidx: 8,
  nla: 12,
  nlan: 16,
  mark: 20,
  queue: 24,
  hatype: 28,
  rxhash: 32,
  cpu: 36,
  alu_xor_x: 40,
  vlan_tci: 44,
  vlan_avail: 48,
  poff: 52,
  rand: 56,
  vlan_tpid: 60,
} as const;

export function stmt(code: number, k: number): BpfInstruction {
  return { code, jt: 0, jf: 0, k };
}

export function jump(code: number, k: number, jt: number, jf: number): BpfInstruction {
  return { code, jt, jf, k };
}

/** Encodes instructions into the native format (2 words per instruction). */
export function encode(insns: readonly BpfInstruction[]): Uint32Array {
  if (insns.length === 0 || insns.length > 4096) throw invalidArgument('a BPF program has 1..4096 instructions');
  const out = new Uint32Array(insns.length * 2);
  insns.forEach((i, n) => {
    if (!(i.code >= 0 && i.code <= 0xffff && i.jt >= 0 && i.jt <= 255 && i.jf >= 0 && i.jf <= 255))
      throw invalidArgument(`BPF instruction ${n} out of range: ${JSON.stringify(i)}`);
    out[2 * n] = (i.code | (i.jt << 16) | (i.jf << 24)) >>> 0;
    out[2 * n + 1] = i.k >>> 0;
  });
  return out;
}

export function decode(program: Uint32Array): BpfInstruction[] {
  const out: BpfInstruction[] = [];
  for (let n = 0; n + 1 < program.length; n += 2) {
    const w = program[n]!;
    out.push({ code: w & 0xffff, jt: (w >>> 16) & 0xff, jf: (w >>> 24) & 0xff, k: program[n + 1]! });
  }
  return out;
}

/** A fanout steering program that sends every frame to member `index` (join order). */
export function fanoutToMember(index: number): Uint32Array {
  return encode([stmt(BPF.RET | BPF.K, index)]);
}

/** A filter that accepts everything (full snap length). */
export function acceptAll(): Uint32Array {
  return encode([stmt(BPF.RET | BPF.K, 0xffffffff)]);
}

// ---- assembler ----

function parseNumber(s: string, line: number): number {
  const t = s.trim();
  if (!/^-?(0x[0-9a-f]+|\d+)$/i.test(t)) throw invalidArgument(`BPF line ${line}: bad number "${s}"`);
  const neg = t.startsWith('-');
  const v = Number.parseInt(neg ? t.slice(1) : t, t.toLowerCase().includes('0x') ? 16 : 10);
  const r = neg ? -v : v;
  if (r < -0x80000000 || r > 0xffffffff) throw invalidArgument(`BPF line ${line}: number out of range "${s}"`);
  return r >>> 0;
}

interface Pending {
  insn: BpfInstruction;
  line: number;
  jt?: string;
  jf?: string;
  ja?: string;
}

const ALU_OPS: Record<string, number> = {
  add: BPF.ADD,
  sub: BPF.SUB,
  mul: BPF.MUL,
  div: BPF.DIV,
  mod: BPF.MOD,
  and: BPF.AND,
  or: BPF.OR,
  xor: BPF.XOR,
  lsh: BPF.LSH,
  rsh: BPF.RSH,
};

// [jump op, swap targets]
const JMP_OPS: Record<string, [number, boolean]> = {
  jeq: [BPF.JEQ, false],
  jneq: [BPF.JEQ, true],
  jne: [BPF.JEQ, true],
  jgt: [BPF.JGT, false],
  jge: [BPF.JGE, false],
  jlt: [BPF.JGE, true],
  jle: [BPF.JGT, true],
  jset: [BPF.JSET, false],
};

const LD_SIZE: Record<string, number> = { ld: BPF.W, ldh: BPF.H, ldb: BPF.B };

/** Assembles the text syntax described at the top of this file into the native format. */
export function assemble(source: string): Uint32Array {
  const labels = new Map<string, number>();
  const prog: Pending[] = [];
  source.split('\n').forEach((raw, idx) => {
    const line = idx + 1;
    let text = raw.replace(/\/\/.*$/, '').replace(/;.*$/, '').trim();
    for (;;) {
      const m = /^([A-Za-z_.][\w.]*)\s*:(?!\S*\])/.exec(text);
      if (!m) break;
      if (labels.has(m[1]!)) throw invalidArgument(`BPF line ${line}: duplicate label ${m[1]}`);
      labels.set(m[1]!, prog.length);
      text = text.slice(m[0].length).trim();
    }
    if (!text) return;
    const sp = text.search(/\s/);
    const op = (sp < 0 ? text : text.slice(0, sp)).toLowerCase();
    const arg = sp < 0 ? '' : text.slice(sp + 1).trim();
    prog.push(parseInsn(op, arg, line));
  });
  const out: BpfInstruction[] = prog.map((p, pc) => {
    const target = (name: string | undefined, fallback: number, max: number): number => {
      if (name === undefined) return fallback;
      const t = /^\d+$/.test(name) ? pc + 1 + Number(name) : labels.get(name);
      if (t === undefined) throw invalidArgument(`BPF line ${p.line}: unknown label ${name}`);
      const off = t - (pc + 1);
      if (off < 0 || off > max) throw invalidArgument(`BPF line ${p.line}: jump to ${name} must go forward by at most ${max}`);
      return off;
    };
    const insn = { ...p.insn };
    if (p.ja !== undefined) insn.k = target(p.ja, 0, 0xffffffff);
    if (p.jt !== undefined || p.jf !== undefined) {
      insn.jt = target(p.jt, 0, 255);
      insn.jf = target(p.jf, 0, 255);
    }
    return insn;
  });
  if (out.length === 0) throw invalidArgument('empty BPF program');
  return encode(out);
}

function parseInsn(op: string, arg: string, line: number): Pending {
  const bad = (): never => {
    throw invalidArgument(`BPF line ${line}: cannot parse "${op} ${arg}"`);
  };
  const imm = (s: string): number | null => (s.startsWith('#') && /^#-?(0x[0-9a-f]+|\d+)$/i.test(s) ? parseNumber(s.slice(1), line) : null);
  const mem = (s: string): number | null => {
    const m = /^M\[\s*(\S+?)\s*\]$/i.exec(s);
    if (!m) return null;
    const k = parseNumber(m[1]!, line);
    if (k > 15) throw invalidArgument(`BPF line ${line}: scratch memory index must be 0..15`);
    return k;
  };
  if (op in LD_SIZE) {
    const size = LD_SIZE[op]!;
    let m = /^\[\s*(-?(?:0x[0-9a-f]+|\d+))\s*\]$/i.exec(arg);
    if (m) return { insn: stmt(BPF.LD | size | BPF.ABS, parseNumber(m[1]!, line)), line };
    m = /^\[\s*x\s*(?:\+\s*(-?(?:0x[0-9a-f]+|\d+)))?\s*\]$/i.exec(arg);
    if (m) return { insn: stmt(BPF.LD | size | BPF.IND, parseNumber(m[1] ?? '0', line)), line };
    if (op === 'ld') {
      const k = imm(arg);
      if (k !== null) return { insn: stmt(BPF.LD | BPF.IMM, k), line };
      if (/^#?len$/i.test(arg)) return { insn: stmt(BPF.LD | BPF.W | BPF.LEN, 0), line };
      const mk = mem(arg);
      if (mk !== null) return { insn: stmt(BPF.LD | BPF.MEM, mk), line };
      const anc = /^#?([a-z_]+)$/i.exec(arg);
      if (anc && anc[1]!.toLowerCase() in SKF_AD) {
        const off = SKF_AD[anc[1]!.toLowerCase() as keyof typeof SKF_AD];
        return { insn: stmt(BPF.LD | BPF.W | BPF.ABS, (SKF_AD_OFF + off) >>> 0), line };
      }
    }
    return bad();
  }
  if (op === 'ldx' || op === 'ldxb') {
    const msh = /^4\s*\*\s*\(\s*\[\s*(\S+?)\s*\]\s*&\s*0xf\s*\)$/i.exec(arg);
    if (msh) return { insn: stmt(BPF.LDX | BPF.B | BPF.MSH, parseNumber(msh[1]!, line)), line };
    if (op === 'ldx') {
      const k = imm(arg);
      if (k !== null) return { insn: stmt(BPF.LDX | BPF.IMM, k), line };
      if (/^#?len$/i.test(arg)) return { insn: stmt(BPF.LDX | BPF.W | BPF.LEN, 0), line };
      const mk = mem(arg);
      if (mk !== null) return { insn: stmt(BPF.LDX | BPF.MEM, mk), line };
    }
    return bad();
  }
  if (op === 'st' || op === 'stx') {
    const mk = mem(arg);
    if (mk === null) return bad();
    return { insn: stmt(op === 'st' ? BPF.ST : BPF.STX, mk), line };
  }
  if (op in ALU_OPS) {
    if (/^%?x$/i.test(arg)) return { insn: stmt(BPF.ALU | ALU_OPS[op]! | BPF.X, 0), line };
    const k = imm(arg);
    if (k === null) return bad();
    return { insn: stmt(BPF.ALU | ALU_OPS[op]! | BPF.K, k), line };
  }
  if (op === 'neg') return { insn: stmt(BPF.ALU | BPF.NEG, 0), line };
  if (op === 'ja' || op === 'jmp') {
    if (!arg) return bad();
    return { insn: stmt(BPF.JMP | BPF.JA, 0), line, ja: arg };
  }
  if (op in JMP_OPS) {
    const [jop, swap] = JMP_OPS[op]!;
    const parts = arg.split(',').map((s) => s.trim());
    if (parts.length < 2 || parts.length > 3 || !parts[1]) return bad();
    let src: number = BPF.K;
    let k = 0;
    if (/^%?x$/i.test(parts[0]!)) src = BPF.X;
    else {
      const v = imm(parts[0]!);
      if (v === null) return bad();
      k = v;
    }
    const t = parts[1];
    const f = parts[2];
    return {
      insn: jump(BPF.JMP | jop | src, k, 0, 0),
      line,
      jt: swap ? f : t,
      jf: swap ? t : f,
    };
  }
  if (op === 'tax') return { insn: stmt(BPF.MISC | BPF.TAX, 0), line };
  if (op === 'txa') return { insn: stmt(BPF.MISC | BPF.TXA, 0), line };
  if (op === 'ret') {
    if (/^%?a$/i.test(arg)) return { insn: stmt(BPF.RET | BPF.A, 0), line };
    const k = imm(arg);
    if (k === null) return bad();
    return { insn: stmt(BPF.RET | BPF.K, k), line };
  }
  return bad();
}
