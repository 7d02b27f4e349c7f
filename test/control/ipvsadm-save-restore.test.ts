// -S lines exactly, -R input handling (ipvsadm.md 8), and the round trip: -S then -R
// reproduces the table, for random tables, numeric and with service names.
import t from 'tap';
import { emptyTable, type ServiceTable } from '../../src/config/model.js';
import { applyCommand, formatSave, parseRestore, runUvsadm, splitRestoreLines, builtinNames, namesFromServicesFile } from '../../src/control/ipvsadm/index.js';
import { golden, run, stateAfter, WORKED_EXAMPLE, WORKED_EXAMPLE_SAVED, words } from './helpers.js';
import { normalized, prng, randomTable } from './random-table.js';

const state = stateAfter(WORKED_EXAMPLE);

t.test('-S -n and -S: the worked example', async (t) => {
  t.equal(run(state, '-S -n').out, WORKED_EXAMPLE_SAVED, 'thresholds are not saved');
  t.equal(run(state, '-S').out.split('\n')[2], '-a -t 10.0.0.1:http -r 192.168.1.3:http-alt -m -w 3', 'names without -n');
  t.equal(run(state, '--save --numeric').out, run(state, '-Sn').out);
  const tunnels = stateAfter(['-A --sctp-service 10.0.0.9:80 -s rr', '-a --sctp-service 10.0.0.9:80 -r 10.1.0.1 -i --tun-type gue --tun-port 6080 --tun-remcsum', '-a --sctp-service 10.0.0.9:80 -r 10.1.0.2 -i --tun-type gre --tun-csum', '-A -t 10.0.0.9:0 -p 10 -M 255.255.255.0 -s rr', '-A -t 10.0.0.9:1 -M 255.255.255.0 -s rr']);
  t.equal(
    run(tunnels, '-S -n').out,
    `-A -t 10.0.0.9:0 -s rr -p 10 -M 255.255.255.0
-A -t 10.0.0.9:1 -s rr
-A --sctp-service 10.0.0.9:80 -s rr
-a --sctp-service 10.0.0.9:80 -r 10.1.0.1:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum
-a --sctp-service 10.0.0.9:80 -r 10.1.0.2:80 -i -w 1 --tun-type gre --tun-csum
`,
    'tunnel options; -M only when persistent',
  );
  t.equal(formatSave(emptyTable(), true), '', 'empty table: nothing');
});

t.test('-R input: words, blank lines, "ipvsadm" dropped, the last-line quirk', async (t) => {
  t.same(splitRestoreLines('-A -t 10.0.0.1:80\n\n  \t\nipvsadm -a\t-t 10.0.0.1:80 -r 10.0.0.2\r\n'), [
    { line: 1, argv: ['-A', '-t', '10.0.0.1:80'] },
    { line: 4, argv: ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2'] },
  ]);
  t.same(splitRestoreLines('-C\n-A -t 10.0.0.1:80 '), [{ line: 1, argv: ['-C'] }, { line: 2, argv: ['-A', '-t', '10.0.0.1:80'] }], 'an unterminated last line is read');
  t.same(splitRestoreLines('-C\n-A -t 10.0.0.1:80  '), [{ line: 1, argv: ['-C'] }], '...unless it ends in two blanks (config_stream_read)');
  t.same(splitRestoreLines('# comment\n'), [{ line: 1, argv: ['#', 'comment'] }], 'no comments in ipvsadm itself');
  const parsed = parseRestore('-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -w 7\n-R\n');
  t.same(parsed.map((p) => [p.line, p.result.ok]), [[1, true], [2, false], [3, false]]);
  t.same(parsed[1]!.result, { ok: false, message: "You need to supply the 'real-server' option for the 'add-server' command", exitCode: 2, stopsRestore: true });
});

t.test('-R runs: kernel errors continue, usage errors stop, exit code of the last line', async (t) => {
  const empty = { table: emptyTable(), daemons: [] };
  const r1 = runUvsadm(empty, ['-R'], { stdin: run(state, '-S -n').out });
  t.equal(r1.exitCode, 0);
  t.equal(run(r1.state, '-L -n').out, run(state, '-L -n').out.replace('100        50', '0          0'), 'restored (thresholds were not saved)');
  t.equal(run(r1.state, '-S -n').out, run(state, '-S -n').out);

  const r2 = runUvsadm(empty, ['-R'], { stdin: '-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80\n-A -t 10.0.0.2:80\n' });
  t.same([r2.stderr, r2.exitCode, r2.state.table.services.length], ['Service already exists\n', 0, 2], 'a kernel error is printed and the run goes on; the last line decides');
  const r3 = runUvsadm(empty, ['-R'], { stdin: '-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80\n' });
  t.equal(r3.exitCode, 255, 'last line failed: 255');
  const r4 = runUvsadm(empty, ['-R'], { stdin: '-A -t 10.0.0.1:80\n-A -t 10.0.0.2:80 -w 3\n-A -t 10.0.0.3:80\n' });
  t.same([r4.stderr, r4.exitCode, r4.state.table.services.length], ["Illegal 'weight' option with the 'add-service' command\n", 2, 1], 'a usage error ends the run with 2');
  const r5 = runUvsadm(empty, ['-R'], { stdin: '# saved rules\n-A -t 10.0.0.1:80\n' });
  t.same([r5.stderr, r5.exitCode, r5.state.table.services.length], ["Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n", 255, 0], "a '#' line aborts the restore (ipvsadm-restore strips them)");
  const r6 = runUvsadm(empty, ['-R'], { stdin: '-A -t 10.0.0.1:80 -Q\n-A -t 10.0.0.2:80\n' });
  t.same([r6.stderr, r6.exitCode, r6.state.table.services.length], ['-Q: unknown option\n', 0, 1], 'a popt error fails only its line');
  const r7 = runUvsadm(empty, ['-R'], { stdin: '-R\n-A -t 10.0.0.2:80\n' });
  t.same([r7.exitCode, r7.state.table.services.length], [255, 0], 'nested -R refused');
  const r8 = runUvsadm(empty, ['-R'], { stdin: '-A -t 10.0.0.1:80\n-L -n\n-S -n\n-v\n-A -t 10.0.0.2:80\n' });
  t.equal(r8.stdout, `IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nTCP  10.0.0.1:80 wlc\n-A -t 10.0.0.1:80 -s wlc\nipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n`, 'listings inside -R print; -v ends it');
  t.same([r8.exitCode, r8.state.table.services.length], [0, 1]);
  const r9 = runUvsadm(empty, ['-R'], { stdin: '-A -t 10.0.0.1:80\n-L -t 10.0.0.9:80\n-A -t 10.0.0.2:80\n' });
  t.same([r9.stderr, r9.exitCode, r9.state.table.services.length], ['No such service\n', 1, 1], 'listing a missing service exits 1');
  t.same(runUvsadm(empty, ['-R', 'x']).stderr, 'unexpected argument x\n');
  t.same(runUvsadm(empty, ['-R']).exitCode, 0, 'empty input');
  t.same(runUvsadm(empty, ['-R'], { stdin: 'ipvsadm\n \n' }).exitCode, 0);
  t.same(r1.applied.map((c) => c.kind).slice(0, 2), ['add-service', 'add-server'], 'applied commands are reported');
  t.equal(golden('·'), ' ');
});

function restoreInto(text: string): ServiceTable {
  let table = emptyTable();
  for (const line of parseRestore(text)) {
    if (!line.result.ok) throw new Error(`line ${line.line}: ${line.result.message}`);
    const r = applyCommand(table, line.result.command);
    if (!r.ok) throw new Error(`line ${line.line}: ${r.message}`);
    table = r.table;
  }
  return table;
}

t.test('-S then -R reproduces the table (random tables)', async (t) => {
  const names = namesFromServicesFile('http 80/tcp www\nhttp 80/udp\nhttps 443/tcp\ndomain 53/udp\ndomain 53/tcp\nsip 5060/sctp\n');
  let checked = 0;
  for (let seed = 1; seed <= 400; seed++) {
    const table = randomTable(prng(seed));
    for (const [numeric, n] of [[true, builtinNames], [false, builtinNames], [false, names]] as const) {
      const saved = formatSave(table, numeric, n);
      const restored = (() => {
        try {
          return restoreInto(saved);
        } catch (e) {
          return String(e);
        }
      })();
      if (typeof restored === 'string' || JSON.stringify(normalized(restored)) !== JSON.stringify(normalized(table))) {
        t.fail(`seed ${seed} numeric=${numeric}: ${typeof restored === 'string' ? restored : 'differs'}\n${saved}`);
        return;
      }
      checked++;
    }
  }
  t.equal(checked, 1200, 'every random table survives -S / -R');
  const sample = randomTable(prng(7));
  t.equal(formatSave(restoreInto(formatSave(sample, true)), true), formatSave(sample, true), 'and saves the same text again');
});

t.test('words helper splits like a shell would for these lines', async (t) => {
  t.same(words(' -L  -n '), ['-L', '-n']);
});
