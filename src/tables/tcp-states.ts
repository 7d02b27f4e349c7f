// The IPVS TCP connection state machine (net/netfilter/ipvs/ip_vs_proto_tcp.c,
// tcp_states[]), table-driven: next = TCP_TRANSITIONS[direction][event][state]. The
// tables are transcribed from shared/reference/connections.md §4.2: the normal table and
// the secure_tcp one (tcp_states_dos[], used while that defense is on, §12). UDP has one
// state and one timeout.

export const TCP_NONE = 0;
export const TCP_ESTABLISHED = 1;
export const TCP_SYN_SENT = 2;
export const TCP_SYN_RECV = 3;
export const TCP_FIN_WAIT = 4;
export const TCP_TIME_WAIT = 5;
export const TCP_CLOSE = 6;
export const TCP_CLOSE_WAIT = 7;
export const TCP_LAST_ACK = 8;
export const TCP_LISTEN = 9;
export const TCP_SYNACK = 10;
/** The single UDP state (its own index so one timeout array serves both protocols). */
export const UDP_STATE = 11;
export const STATE_COUNT = 12;

export const STATE_NAMES = [
  'NONE', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT', 'TIME_WAIT',
  'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'SYNACK', 'UDP',
] as const;

/** Directions: a client->server packet of a NAT entry, a server->client packet, or a client->server packet of a DR/TUN entry. */
export const DIR_INPUT = 0;
export const DIR_OUTPUT = 1;
export const DIR_INPUT_ONLY = 2;

/** Events, from the TCP flags: first match of RST, SYN, FIN, ACK; none of them -> NO_FLAGS (goes to CLOSE). */
export const EV_SYN = 0;
export const EV_FIN = 1;
export const EV_ACK = 2;
export const EV_RST = 3;
export const EV_NONE = 4;

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;

/** The event a segment with these flags triggers. */
export function tcpEvent(flags: number): number {
  if (flags & TCP_RST) return EV_RST;
  if (flags & TCP_SYN) return EV_SYN;
  if (flags & TCP_FIN) return EV_FIN;
  if (flags & TCP_ACK) return EV_ACK;
  return EV_NONE;
}

// Rows in state order: NONE EST SYN_SENT SYN_RECV FIN_WAIT TIME_WAIT CLOSE CLOSE_WAIT LAST_ACK LISTEN SYNACK
const [NO, ES, SS, SR, FW, TW, CL, CW, LA, LI, SA] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as const;
const NORMAL: number[][][] = [
  // INPUT
  [
    /* syn */ [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
    /* fin */ [CL, CW, SS, TW, TW, TW, CL, CW, LA, LI, TW],
    /* ack */ [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
    /* rst */ [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, SR],
  ],
  // OUTPUT
  [
    /* syn */ [SS, ES, SS, SR, SS, SS, SS, SS, SS, LI, SR],
    /* fin */ [TW, FW, SS, TW, FW, TW, CL, TW, LA, LI, TW],
    /* ack */ [ES, ES, SS, ES, FW, TW, CL, CW, LA, ES, ES],
    /* rst */ [CL, CL, SS, CL, CL, TW, CL, CL, CL, CL, CL],
  ],
  // INPUT-ONLY
  [
    /* syn */ [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
    /* fin */ [CL, FW, SS, TW, FW, TW, CL, CW, LA, LI, TW],
    /* ack */ [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
    /* rst */ [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL],
  ],
];

/** secure_tcp: the cells that differ from NORMAL, as [direction, event, state, next]. */
const SECURE_CELLS: readonly (readonly [number, number, number, number])[] = [
  [0, 0, SA, SA], [0, 1, SA, SA], [0, 2, SR, SR], [0, 2, SA, SA], [0, 3, SA, CL],
  [1, 0, SR, SA], [1, 0, SA, SA],
  ...[NO, FW, TW, CL, CW, LA, LI, SA].map((s) => [2, 0, s, SA] as const),
];

/** Flat transition tables: index ((dir * 5 + event) * 11 + state); EV_NONE rows all go to CLOSE. */
export const TCP_TRANSITIONS = new Uint8Array(3 * 5 * 11);
for (let d = 0; d < 3; d++)
  for (let e = 0; e < 5; e++)
    for (let s = 0; s < 11; s++) TCP_TRANSITIONS[(d * 5 + e) * 11 + s] = e === EV_NONE ? CL : NORMAL[d]![e]![s]!;
export const TCP_TRANSITIONS_SECURE = TCP_TRANSITIONS.slice();
for (const [d, e, s, n] of SECURE_CELLS) TCP_TRANSITIONS_SECURE[(d * 5 + e) * 11 + s] = n;

/** The next state; `table` is TCP_TRANSITIONS or, while secure_tcp is on, TCP_TRANSITIONS_SECURE. */
export function nextTcpState(direction: number, event: number, state: number, table: Uint8Array = TCP_TRANSITIONS): number {
  return table[(direction * 5 + event) * 11 + state]!;
}

/** Default timeouts in seconds, by state (connections.md §4.4, §5). */
export const DEFAULT_TIMEOUTS: readonly number[] = [2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120, 300];

/** States counted as active connections (modern kernels: ESTABLISHED, SYN_SENT, SYN_RECV, SYNACK). */
export const ACTIVE_STATE = new Uint8Array(STATE_COUNT);
ACTIVE_STATE[TCP_ESTABLISHED] = 1;
ACTIVE_STATE[TCP_SYN_SENT] = 1;
ACTIVE_STATE[TCP_SYN_RECV] = 1;
ACTIVE_STATE[TCP_SYNACK] = 1;
