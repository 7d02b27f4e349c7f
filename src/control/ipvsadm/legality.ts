// Which options each command requires, allows or forbids, checked in ipvsadm's visiting
// order so the first problem reported is the one ipvsadm reports, with its three message
// forms; and the same check for tunnel options per tunnel type. Reference: ipvsadm.md 3
// (option order and names) and 3.6 (the table), 3.3 (tunnel types); ipvsadm 1.31
// generic_opt_check / tunnel_opt_check.

import type { CommandName } from './types.js';
import { COMMAND_NAMES } from './types.js';

/** Option names in the order the check visits them (the names messages use). */
export const OPTION_NAMES = [
  'numeric', 'connection', 'service-address', 'scheduler', 'persistent', 'netmask', 'real-server',
  'forwarding-method', 'weight', 'u-threshold', 'l-threshold', 'mcast-interface', 'timeout', 'daemon',
  'stats', 'rate', 'thresholds', 'persistent-conn', 'nosort', 'syncid', 'exact', 'ops', 'pe',
  'sched-flags', 'mcast-group', 'mcast-port', 'mcast-ttl', 'sync-maxlen', 'tun-info', 'tun-type',
  'tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum',
] as const;
export type OptionName = (typeof OPTION_NAMES)[number];

// One character per option above: '+' required, 'x' illegal, '1' at most one of the '1's,
// '.' optional.                 -n-csvc-s-p-M-rfwd-w-x-ymc todm strtthrpcsrtsidexopspe -b grpprtttlsiztinftyptprnoccsmrem
const RULES: Record<CommandName, string> = {
  'add-service':    'xx+...xxxxxxxxxxxxxxx...xxxxxxxxxx',
  'edit-service':   'xx+...xxxxxxxxxxxxxxx...xxxxxxxxxx',
  'delete-service': 'xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  flush:            'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  list:             '.11xxxxxxxxx11.......xxxxxxx.xxxxx',
  'add-server':     'xx+xxx+....xxxxxxxxxxxxxxxxxx.....',
  'delete-server':  'xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'edit-server':    'xx+xxx+....xxxxxxxxxxxxxxxxxx.....',
  set:              'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'start-daemon':   'xxxxxxxxxxx.xxxxxxx.xxxx....xxxxxx',
  'stop-daemon':    'xxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxx',
  restore:          'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  save:             '.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  zero:             'xx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
};
if (COMMAND_NAMES.some((c) => RULES[c].length !== OPTION_NAMES.length)) throw new Error('legality table width');

/** The message for the first rule the given options break, in visiting order, or undefined. */
function firstViolation(rules: string, names: readonly string[], given: ReadonlySet<string>, what: string): string | undefined {
  let exclusive: string | undefined;
  for (let j = 0; j < names.length; j++) {
    const name = names[j]!;
    const rule = rules[j];
    if (!given.has(name)) {
      if (rule === '+') return `You need to supply the '${name}' option for the ${what}`;
      continue;
    }
    if (rule === 'x') return `Illegal '${name}' option with the ${what}`;
    if (rule === '1') {
      if (exclusive !== undefined) return `The option '${name}' conflicts with the '${exclusive}' option in the ${what}`;
      exclusive = name;
    }
  }
  return undefined;
}

export function checkCommandOptions(command: CommandName, given: ReadonlySet<OptionName>): string | undefined {
  return firstViolation(RULES[command], OPTION_NAMES, given, `'${command}' command`);
}

const TUNNEL_OPTIONS = ['tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum'] as const;
const TUNNEL_RULES: Record<'ipip' | 'gue' | 'gre', string> = { ipip: 'xxxx', gue: '+111', gre: 'x11x' };

export function checkTunnelOptions(type: 'ipip' | 'gue' | 'gre', given: ReadonlySet<OptionName>): string | undefined {
  return firstViolation(TUNNEL_RULES[type], TUNNEL_OPTIONS, given, `'${type}' tunnel type`);
}
