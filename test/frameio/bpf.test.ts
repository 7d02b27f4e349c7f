// The classic-BPF assembler and encoder (no sockets needed).

import t from 'tap';
import { assemble, decode, encode, fanoutToMember, stmt, jump, BPF, SKF_AD_OFF } from '../../src/frameio/bpf.js';

const q = (code: number, jt: number, jf: number, k: number) => ({ code, jt, jf, k });
const s1 = (code: number, k: number) => q(code, 0, 0, k);

t.test('assembles the program tcpdump generates for "ip and udp dst port 7777"', async (t) => {
  const prog = assemble(`
        ldh [12]
        jeq #0x800, l2, drop       ; IPv4?
    l2: ldb [23]
        jeq #17, l4, drop          // UDP?
    l4: ldh [20]
        jset #0x1fff, drop         ; fragment
        ldxb 4*([14]&0xf)
        ldh [x + 16]
        jeq #0x1e61, accept, drop
 accept: ret #262144
   drop: ret #0`);
  // tcpdump -y EN10MB -dd 'ip and udp dst port 7777'
  t.same(decode(prog), [
    q(0x28, 0, 0, 0x0c),
    q(0x15, 0, 8, 0x800),
    q(0x30, 0, 0, 0x17),
    q(0x15, 0, 6, 0x11),
    q(0x28, 0, 0, 0x14),
    q(0x45, 4, 0, 0x1fff),
    q(0xb1, 0, 0, 0x0e),
    q(0x48, 0, 0, 0x10),
    q(0x15, 0, 1, 0x1e61),
    q(0x06, 0, 0, 0x40000),
    q(0x06, 0, 0, 0),
  ]);
  t.equal(prog.length, 22, 'two words per instruction');
  t.equal(prog[2], 0x15 | (0 << 16) | (8 << 24), 'word 0 = code | jt << 16 | jf << 24');
  t.equal(prog[3], 0x800, 'word 1 = k');
});

t.test('inverted jumps, ALU, scratch memory, ancillary loads', async (t) => {
  const prog = assemble(`
        ld #rxhash
        st M[3]
        ld #len
        ldx M[3]
        add x
        and #1
        jneq #0, odd
        ret #0
   odd: jlt #5, small, big
 small: ret a
   big: ldx #7
        txa
        tax
        neg
        ja end
        ret #9
   end: ret #1`);
  t.same(decode(prog), [
    s1(BPF.LD | BPF.W | BPF.ABS, (SKF_AD_OFF + 32) >>> 0),
    s1(BPF.ST, 3),
    s1(BPF.LD | BPF.W | BPF.LEN, 0),
    s1(BPF.LDX | BPF.MEM, 3),
    s1(BPF.ALU | BPF.ADD | BPF.X, 0),
    s1(BPF.ALU | BPF.AND | BPF.K, 1),
    q(BPF.JMP | BPF.JEQ | BPF.K, 0, 1, 0), // jneq: equal -> next, else -> odd
    s1(BPF.RET | BPF.K, 0),
    q(BPF.JMP | BPF.JGE | BPF.K, 1, 0, 5), // jlt: ge -> big, else small
    s1(BPF.RET | BPF.A, 0),
    s1(BPF.LDX | BPF.IMM, 7),
    s1(BPF.MISC | BPF.TXA, 0),
    s1(BPF.MISC | BPF.TAX, 0),
    s1(BPF.ALU | BPF.NEG, 0),
    q(BPF.JMP | BPF.JA, 0, 0, 1),
    s1(BPF.RET | BPF.K, 9),
    s1(BPF.RET | BPF.K, 1),
  ]);
});

t.test('helpers and errors', async (t) => {
  t.same(Array.from(fanoutToMember(1)), [0x06, 1]);
  t.same(Array.from(encode([stmt(BPF.RET | BPF.K, 0xffffffff), jump(BPF.JMP | BPF.JEQ, 5, 1, 2)])), [0x06, 0xffffffff, 0x15 | (1 << 16) | (2 << 24), 5]);
  const bad = (src: string, re: RegExp) =>
    t.throws(() => assemble(src), { code: 'UVS_FRAMEIO_INVALID_ARGUMENT', message: re }, src);
  bad('ret #1\nfoo #2', /line 2/);
  bad('jeq #1, nowhere\nret #0', /unknown label nowhere/);
  bad('back: ret #0\nja back', /forward/);
  bad('ld M[16]', /0\.\.15/);
  bad('', /empty/);
  bad('a: ret #0\na: ret #1', /duplicate label/);
  t.throws(() => encode([]), { code: 'UVS_FRAMEIO_INVALID_ARGUMENT' });
});
