// The scheduler registry: every IPVS scheduler by its ipvsadm name; an unknown name is a
// coded error that names it and lists the known ones.
import t from 'tap';
import { UvsError } from '../../src/errors.js';
import { getScheduler, schedulerNames } from '../../src/schedulers/index.js';

const ALL = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'];

t.test('all 14 schedulers are registered under their names', async (t) => {
  t.same([...schedulerNames()].sort(), [...ALL].sort());
  for (const name of ALL) t.equal(getScheduler(name).name, name);
});

t.test('an unknown scheduler is UVS_UNKNOWN_SCHEDULER naming it', async (t) => {
  let error: unknown;
  try {
    getScheduler('nope');
  } catch (e) {
    error = e;
  }
  t.ok(error instanceof UvsError);
  const e = error as UvsError;
  t.equal(e.code, 'UVS_UNKNOWN_SCHEDULER');
  t.match(e.message, /'nope'/);
  for (const name of ALL) t.match(e.message, new RegExp(`\\b${name}\\b`));
});
