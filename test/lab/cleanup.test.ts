// Cleanup guarantees: a crashed owner's leftovers are removed by labDown() or the next
// buildLab() of the prefix; signals, uncaught exceptions and exit tear a lab down; strays
// inside the namespaces are killed; a live lab is not clobbered.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { buildLab, labDown, labStatus, labSweep, listLabs } from '../../src/lab/index.js';
import { exists, labNamespaces, pidAlive, uniquePrefix, waitFor } from '../../src/lab/testing.js';

t.setTimeout(120_000);
const LAB_MODULE = new URL('../../src/lab/index.js', import.meta.url).href;

/**
 * The owner process: builds a lab (2 real servers + a tracked sleeper), prints one JSON line,
 * then waits, throws or exits. Inline (node -e) so that `tap dist/test/lab/` has no helper
 * file to run on its own.
 */
const CHILD_SCRIPT = `
import { buildLab } from ${JSON.stringify(LAB_MODULE)};
const [prefix, behaviour] = process.argv.slice(1);
const lab = await buildLab({ prefix, servers: 2, mode: 'dr' });
lab.spawn('dir1', ['sleep', '600'], { name: 'sleeper' });
process.stdout.write(JSON.stringify({ namespaces: lab.description.namespaces, pids: lab.processes().map((p) => p.pid), statePath: lab.statePath }) + '\\n');
if (behaviour === 'throw') setTimeout(() => { throw new Error('deliberate uncaught exception'); }, 50);
else if (behaviour === 'exit') setTimeout(() => process.exit(7), 50);
else setInterval(() => {}, 60000);
`;

interface Up {
  child: ChildProcess;
  info: { namespaces: string[]; pids: number[]; statePath: string };
  stderr: () => string;
}

async function startChild(prefix: string, behaviour: 'wait' | 'throw' | 'exit'): Promise<Up> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD_SCRIPT, prefix, behaviour], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not come up in 15 s: ${err}`)), 15_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before the lab was up: ${err}`));
    });
  });
  return { child, info: JSON.parse(line) as Up['info'], stderr: () => err };
}

async function exitOf(child: ChildProcess): Promise<[number | null, NodeJS.Signals | null]> {
  if (child.exitCode !== null || child.signalCode !== null) return [child.exitCode, child.signalCode];
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [code, sig] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  return [code, sig];
}

t.test('SIGKILLed owner: leftovers survive, labDown(prefix) removes them all', async (t) => {
  const prefix = uniquePrefix('k');
  t.teardown(() => labDown(prefix).then(() => {}, () => {}));
  const up = await startChild(prefix, 'wait');
  t.equal(up.info.pids.length, 3, 'two real servers and a sleeper');

  // While the owner lives, the lab is not clobbered by another build.
  await t.rejects(buildLab({ prefix }), { code: 'UVS_LAB_EXISTS', message: new RegExp(`owned by running process ${up.child.pid}`) });

  up.child.kill('SIGKILL');
  const [, sig] = await exitOf(up.child);
  t.equal(sig, 'SIGKILL');
  // No cleanup could run: everything is still there.
  t.same(labNamespaces(prefix).sort(), [...up.info.namespaces].sort(), 'namespaces left behind');
  t.ok(up.info.pids.every(pidAlive), 'processes left behind');
  const st = await labStatus(prefix);
  t.equal(st.owner?.alive, false, 'status: owner gone');
  t.ok(st.processes.every((p) => p.alive));

  const r = await labDown(prefix);
  t.same([...r.killed].sort(), [...up.info.pids].sort(), 'the recorded PIDs were stopped');
  t.same(labNamespaces(prefix), []);
  t.ok(await waitFor(() => up.info.pids.every((p) => !pidAlive(p)), 2000), 'recorded PIDs gone');
  t.notOk(exists(up.info.statePath));
});

t.test('SIGKILLed owner: the next buildLab() of the prefix cleans up first', async (t) => {
  const prefix = uniquePrefix('n');
  t.teardown(() => labDown(prefix).then(() => {}, () => {}));
  const up = await startChild(prefix, 'wait');
  up.child.kill('SIGKILL');
  await exitOf(up.child);
  t.ok(up.info.pids.every(pidAlive));

  const lab = await buildLab({ prefix, servers: 1, mode: 'dr' });
  t.teardown(() => lab.down().then(() => {}, () => {}));
  t.ok(up.info.pids.every((p) => !pidAlive(p)), 'old processes gone');
  t.same(labNamespaces(prefix).sort(), [...lab.description.namespaces].sort(), 'only the new lab (1 server) exists');
  const r = await lab.probe('client', { proto: 'tcp', host: '198.19.0.11', port: 9000 });
  t.match(r.firstLine, /^rs1 198\.18\.0\.10:\d+$/);
  t.notOk(lab.processes().some((p) => up.info.pids.includes(p.pid)));
  await lab.down();
  t.same(labNamespaces(prefix), []);
});

t.test('SIGKILLed owner: labSweep() finds and removes the stale lab, live ones stay', async (t) => {
  const stale = uniquePrefix('g');
  const live = uniquePrefix('h');
  t.teardown(() => labDown(stale).then(() => {}, () => {}));
  const up = await startChild(stale, 'wait');
  up.child.kill('SIGKILL');
  await exitOf(up.child);
  const mine = await buildLab({ prefix: live, servers: 1, startServers: false });
  t.teardown(() => mine.down().then(() => {}, () => {}));
  t.ok(listLabs().includes(stale) && listLabs().includes(live));

  const swept = await labSweep();
  t.ok(swept.some((r) => r.prefix === stale), 'the stale lab was swept');
  t.notOk(swept.some((r) => r.prefix === live), 'a lab whose owner lives is kept');
  t.same(labNamespaces(stale), []);
  t.ok(up.info.pids.every((p) => !pidAlive(p)));
  t.equal(labNamespaces(live).length, 5);
  await mine.down();
});

for (const how of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGALRM', 'throw', 'exit'] as const) {
  t.test(`owner ${how === 'throw' ? 'throws an uncaught exception' : how === 'exit' ? 'calls process.exit' : `gets ${how}`}: the lab is torn down`, async (t) => {
    const prefix = uniquePrefix(how === 'throw' ? 'e' : how === 'exit' ? 'q' : how.slice(3, 5).toLowerCase());
    t.teardown(() => labDown(prefix).then(() => {}, () => {}));
    const up = await startChild(prefix, how === 'throw' || how === 'exit' ? how : 'wait');
    if (how !== 'throw' && how !== 'exit') up.child.kill(how);
    const [code, sig] = await exitOf(up.child);
    if (how === 'throw') {
      t.equal(code, 1);
      t.match(up.stderr(), /deliberate uncaught exception/);
    } else if (how === 'exit') t.equal(code, 7);
    else t.equal(sig, how, 'the signal still terminates the process');
    t.same(labNamespaces(prefix), [], 'namespaces deleted');
    t.ok(up.info.pids.every((p) => !pidAlive(p)), 'recorded processes gone');
    t.notOk(exists(up.info.statePath), 'state file removed');
  });
}

t.test('down kills processes started inside the namespaces behind the lab\'s back (by PID)', async (t) => {
  const prefix = uniquePrefix('z');
  t.teardown(() => labDown(prefix).then(() => {}, () => {}));
  const lab = await buildLab({ prefix, servers: 1, mode: 'nat', startServers: false });
  const stray = spawn('ip', ['netns', 'exec', `${prefix}-client`, 'sleep', '600'], { stdio: 'ignore', detached: true });
  stray.unref();
  t.ok(await waitFor(() => pidAlive(stray.pid!), 1000));
  const r = await lab.down();
  t.ok(r.killed.includes(stray.pid!), 'stray signalled');
  t.ok(await waitFor(() => !pidAlive(stray.pid!), 2000), 'stray gone');
  t.same(labNamespaces(prefix), []);
});

t.test('leftover namespaces without a state file are removed by labDown and the next build', async (t) => {
  const prefix = uniquePrefix('l');
  t.teardown(() => labDown(prefix).then(() => {}, () => {}));
  const { execFileSync } = await import('node:child_process');
  execFileSync('ip', ['netns', 'add', `${prefix}-sw`]);
  execFileSync('ip', ['netns', 'add', `${prefix}-rs7`]);
  const st = await labStatus(prefix);
  t.same(st.strayNamespaces.sort(), [`${prefix}-rs7`, `${prefix}-sw`]);
  t.equal(st.recorded, false);
  const lab = await buildLab({ prefix, servers: 1, startServers: false });
  t.notOk(labNamespaces(prefix).includes(`${prefix}-rs7`), 'stray rs7 removed by the build');
  await lab.down();
  execFileSync('ip', ['netns', 'add', `${prefix}-client`]);
  const r = await labDown(prefix);
  t.same(r.namespaces, [`${prefix}-client`]);
  t.same(labNamespaces(prefix), []);
});
