// The TCP state machine against the reference tables of connections.md §4.2, written out
// here again by state name (independently of src/tables/tcp-states.ts): every cell of the
// normal and secure tables, the no-flags rule, event precedence and the typical traces.
import t from 'tap';
import {
  DIR_INPUT, DIR_INPUT_ONLY, DIR_OUTPUT, EV_ACK, EV_FIN, EV_NONE, EV_RST, EV_SYN,
  nextTcpState, STATE_NAMES, tcpEvent, TCP_TRANSITIONS_SECURE,
} from '../../src/tables/tcp-states.js';

const COLUMNS = ['NONE', 'EST', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'SYNACK'];
const NAME = (s: string): string => (s === 'EST' ? 'ESTABLISHED' : s);

// | dir | event | NONE | EST | SYN_SENT | SYN_RECV | FIN_WAIT | TIME_WAIT | CLOSE | CLOSE_WAIT | LAST_ACK | LISTEN | SYNACK |
const NORMAL = `
INPUT syn SYN_RECV EST EST SYN_RECV SYN_RECV SYN_RECV SYN_RECV SYN_RECV SYN_RECV SYN_RECV SYN_RECV
INPUT fin CLOSE CLOSE_WAIT SYN_SENT TIME_WAIT TIME_WAIT TIME_WAIT CLOSE CLOSE_WAIT LAST_ACK LISTEN TIME_WAIT
INPUT ack EST EST SYN_SENT EST FIN_WAIT TIME_WAIT CLOSE CLOSE_WAIT CLOSE LISTEN EST
INPUT rst CLOSE CLOSE CLOSE SYN_RECV CLOSE CLOSE CLOSE CLOSE LAST_ACK LISTEN SYN_RECV
OUTPUT syn SYN_SENT EST SYN_SENT SYN_RECV SYN_SENT SYN_SENT SYN_SENT SYN_SENT SYN_SENT LISTEN SYN_RECV
OUTPUT fin TIME_WAIT FIN_WAIT SYN_SENT TIME_WAIT FIN_WAIT TIME_WAIT CLOSE TIME_WAIT LAST_ACK LISTEN TIME_WAIT
OUTPUT ack EST EST SYN_SENT EST FIN_WAIT TIME_WAIT CLOSE CLOSE_WAIT LAST_ACK EST EST
OUTPUT rst CLOSE CLOSE SYN_SENT CLOSE CLOSE TIME_WAIT CLOSE CLOSE CLOSE CLOSE CLOSE
INPUT-ONLY syn SYN_RECV EST EST SYN_RECV SYN_RECV SYN_RECV SYN_RECV SYN_RECV SYN_RECV SYN_RECV SYN_RECV
INPUT-ONLY fin CLOSE FIN_WAIT SYN_SENT TIME_WAIT FIN_WAIT TIME_WAIT CLOSE CLOSE_WAIT LAST_ACK LISTEN TIME_WAIT
INPUT-ONLY ack EST EST SYN_SENT EST FIN_WAIT TIME_WAIT CLOSE CLOSE_WAIT CLOSE LISTEN EST
INPUT-ONLY rst CLOSE CLOSE CLOSE SYN_RECV CLOSE CLOSE CLOSE CLOSE LAST_ACK LISTEN CLOSE
`;

// Secure table: only the cells that differ, "dir event state->next".
const SECURE_DIFFS = `
INPUT syn SYNACK->SYNACK
INPUT fin SYNACK->SYNACK
INPUT ack SYN_RECV->SYN_RECV SYNACK->SYNACK
INPUT rst SYNACK->CLOSE
OUTPUT syn SYN_RECV->SYNACK SYNACK->SYNACK
INPUT-ONLY syn NONE->SYNACK FIN_WAIT->SYNACK TIME_WAIT->SYNACK CLOSE->SYNACK CLOSE_WAIT->SYNACK LAST_ACK->SYNACK LISTEN->SYNACK SYNACK->SYNACK
`;

const DIRS: Record<string, number> = { INPUT: DIR_INPUT, OUTPUT: DIR_OUTPUT, 'INPUT-ONLY': DIR_INPUT_ONLY };
const EVENTS: Record<string, number> = { syn: EV_SYN, fin: EV_FIN, ack: EV_ACK, rst: EV_RST };
const stateIndex = (name: string): number => {
  const i = STATE_NAMES.indexOf(NAME(name) as (typeof STATE_NAMES)[number]);
  if (i < 0 || i > 10) throw new Error(`bad state ${name}`);
  return i;
};

/** expected[dir][event][state] = next state index. */
function normalTable(): number[][][] {
  const table: number[][][] = [[], [], []];
  for (const line of NORMAL.trim().split('\n')) {
    const [dir, ev, ...cells] = line.split(' ');
    if (cells.length !== 11) throw new Error(`row ${line}`);
    table[DIRS[dir!]!]![EVENTS[ev!]!] = cells.map(stateIndex);
  }
  return table;
}

t.test('normal table: every direction x event x state', async (t) => {
  const table = normalTable();
  let cells = 0;
  for (const [dname, d] of Object.entries(DIRS))
    for (const [ename, e] of Object.entries(EVENTS))
      for (let s = 0; s < 11; s++) {
        t.equal(STATE_NAMES[nextTcpState(d, e, s)], STATE_NAMES[table[d]![e]![s]!], `${dname} ${ename} ${COLUMNS[s]}`);
        cells++;
      }
  t.equal(cells, 132);
});

t.test('secure table: the listed cells differ, all others are the normal ones', async (t) => {
  const table = normalTable();
  const diffs = new Map<string, number>();
  for (const line of SECURE_DIFFS.trim().split('\n')) {
    const [dir, ev, ...cells] = line.split(' ');
    for (const c of cells) {
      const [from, to] = c.split('->');
      diffs.set(`${DIRS[dir!]},${EVENTS[ev!]},${stateIndex(from!)}`, stateIndex(to!));
    }
  }
  for (const [dname, d] of Object.entries(DIRS))
    for (const [ename, e] of Object.entries(EVENTS))
      for (let s = 0; s < 11; s++) {
        const want = diffs.get(`${d},${e},${s}`) ?? table[d]![e]![s]!;
        t.equal(STATE_NAMES[nextTcpState(d, e, s, TCP_TRANSITIONS_SECURE)], STATE_NAMES[want], `secure ${dname} ${ename} ${COLUMNS[s]}`);
      }
});

t.test('a segment with none of RST/SYN/FIN/ACK moves any state to CLOSE', async (t) => {
  t.equal(tcpEvent(0), EV_NONE);
  t.equal(tcpEvent(0x08 | 0x20), EV_NONE, 'PSH|URG alone');
  for (const d of Object.values(DIRS))
    for (let s = 0; s < 11; s++) {
      t.equal(nextTcpState(d, EV_NONE, s), 6, `dir ${d} state ${COLUMNS[s]}`);
      t.equal(nextTcpState(d, EV_NONE, s, TCP_TRANSITIONS_SECURE), 6);
    }
});

t.test('event precedence: RST > SYN > FIN > ACK', async (t) => {
  const FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;
  t.equal(tcpEvent(RST | SYN | FIN | ACK), EV_RST);
  t.equal(tcpEvent(RST | ACK), EV_RST);
  t.equal(tcpEvent(SYN | FIN | ACK), EV_SYN);
  t.equal(tcpEvent(SYN | ACK), EV_SYN);
  t.equal(tcpEvent(FIN | ACK | PSH), EV_FIN);
  t.equal(tcpEvent(ACK | PSH), EV_ACK);
  t.equal(tcpEvent(ACK), EV_ACK);
});

/** Runs (direction, flags) steps from NONE; returns the state names after each. */
function trace(steps: readonly [number, number][], table?: Uint8Array): string[] {
  let s = 0;
  return steps.map(([d, flags]) => STATE_NAMES[(s = nextTcpState(d, tcpEvent(flags), s, table))]!);
}
const [F, S, R, A] = [0x01, 0x02, 0x04, 0x10];
const I = DIR_INPUT, O = DIR_OUTPUT, IO = DIR_INPUT_ONLY;

t.test('typical traces (§4.2)', async (t) => {
  t.same(trace([[I, S], [O, S | A], [I, A], [I, F | A], [O, A], [O, F | A], [I, A]]),
    ['SYN_RECV', 'SYN_RECV', 'ESTABLISHED', 'CLOSE_WAIT', 'CLOSE_WAIT', 'TIME_WAIT', 'TIME_WAIT'], 'NAT, client closes');
  t.same(trace([[I, S], [O, S | A], [I, A], [O, F | A], [I, A], [I, F | A]]),
    ['SYN_RECV', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'FIN_WAIT', 'TIME_WAIT'], 'NAT, server closes');
  t.same(trace([[IO, S], [IO, A], [IO, F | A], [IO, A]]), ['SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'FIN_WAIT'], 'DR/TUN close');
  t.same(trace([[IO, S], [IO, A], [IO, R]]), ['SYN_RECV', 'ESTABLISHED', 'CLOSE'], 'DR/TUN reset');
  t.same(trace([[I, S], [O, S | A], [I, A], [O, A]], TCP_TRANSITIONS_SECURE),
    ['SYN_RECV', 'SYNACK', 'SYNACK', 'ESTABLISHED'], 'secure NAT: ESTABLISHED only on the server ACK');
});
