// Shared by the uvsadm front-end tests: run command lines against a state, and the
// worked example of ipvsadm.md section 9.
import { emptyTable } from '../../src/config/model.js';
import { runUvsadm, type RunEnvironment, type UvsadmState } from '../../src/control/ipvsadm/index.js';

export const WORKED_EXAMPLE = [
  '-A -t 10.0.0.1:80 -s wlc',
  '-a -t 10.0.0.1:80 -r 192.168.1.2:80 -m',
  '-a -t 10.0.0.1:80 -r 192.168.1.3:8080 -m -w 3',
  '-A -t 10.0.0.1:443 -s rr -p',
  '-a -t 10.0.0.1:443 -r 192.168.1.2 -g',
  '-a -t 10.0.0.1:443 -r 192.168.1.3 -i -w 0',
  '-A -u 10.0.0.2:53 -s sh -b sh-fallback,sh-port',
  '-a -u 10.0.0.2:53 -r 192.168.1.4:53 -m -x 100 -y 50',
  '-A -f 5 -s lc -p 600 -M 255.255.255.0',
  '-a -f 5 -r 192.168.1.5:0 -g -w 2',
];

/** What `ipvsadm -S -n` prints for the worked example (ipvsadm.md 9). */
export const WORKED_EXAMPLE_SAVED = `-A -t 10.0.0.1:80 -s wlc
-a -t 10.0.0.1:80 -r 192.168.1.2:80 -m -w 1
-a -t 10.0.0.1:80 -r 192.168.1.3:8080 -m -w 3
-A -t 10.0.0.1:443 -s rr -p 360
-a -t 10.0.0.1:443 -r 192.168.1.2:443 -g -w 1
-a -t 10.0.0.1:443 -r 192.168.1.3:443 -i -w 0 --tun-type ipip
-A -u 10.0.0.2:53 -s sh -b sh-fallback,sh-port
-a -u 10.0.0.2:53 -r 192.168.1.4:53 -m -w 1
-A -f 5 -s lc -p 600 -M 255.255.255.0
-a -f 5 -r 192.168.1.5:0 -g -w 2
`;

export const words = (line: string): string[] => line.split(' ').filter((w) => w !== '');

/** Run lines in order; every one must succeed. */
export function stateAfter(lines: readonly string[], start: UvsadmState = { table: emptyTable(), daemons: [] }): UvsadmState {
  let state = start;
  for (const line of lines) {
    const r = runUvsadm(state, words(line));
    if (r.exitCode !== 0) throw new Error(`${line}: exit ${r.exitCode}: ${r.stderr}`);
    state = r.state;
  }
  return state;
}

/** stdout, stderr and exit code of one command line. */
export function run(state: UvsadmState, line: string, env: RunEnvironment = {}): { out: string; err: string; code: number; state: UvsadmState } {
  const r = runUvsadm(state, words(line), env);
  return { out: r.stdout, err: r.stderr, code: r.exitCode, state: r.state };
}

/** Expected text written with '·' for each trailing space (as ipvsadm.md shows them). */
export const golden = (text: string): string => text.replace(/·/g, ' ');
