// `uvs router`: runs the L3 frame-I/O router (src/datapath/router.ts) in this
// network namespace until SIGINT/SIGTERM or --duration, then prints its counters as JSON.
//
//   uvs router --if pub0 --if priv0 [--route 10.0.0.0/8,via=198.19.0.9,dev=priv0] [--duration 10]

import { parseArgs } from 'node:util';
import { Router, type RouterRoute } from '../datapath/router.js';
import { UvsError } from '../errors.js';

const USAGE = 'usage: uvs router --if IFACE --if IFACE [--route PREFIX[,via=ADDR],dev=IFACE]... [--duration SECONDS] [--stats-interval SECONDS]';

function parseRoute(text: string): RouterRoute {
  const [prefix, ...rest] = text.split(',');
  const route: RouterRoute = { prefix: prefix ?? '', dev: '' };
  for (const kv of rest) {
    const [k, v] = kv.split('=');
    if (k === 'via' && v) route.via = v;
    else if (k === 'dev' && v) route.dev = v;
    else throw new UvsError('UVS_ROUTER_BAD_ROUTE', `--route ${text}: unknown part '${kv}' (expected via=ADDR or dev=IFACE)`);
  }
  if (!route.dev) throw new UvsError('UVS_ROUTER_BAD_ROUTE', `--route ${text}: dev=IFACE is required`);
  return route;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      if: { type: 'string', multiple: true },
      route: { type: 'string', multiple: true },
      duration: { type: 'string' },
      'stats-interval': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const interfaces = values.if ?? [];
  if (interfaces.length < 2) throw new UvsError('UVS_ROUTER_CONFIG', `--if must be given at least twice\n${USAGE}`);
  const duration = values.duration === undefined ? Infinity : Number(values.duration);
  if (!(duration > 0)) throw new UvsError('UVS_ROUTER_CONFIG', `--duration must be a positive number of seconds, got '${values.duration}'`);
  const router = new Router({ interfaces, routes: (values.route ?? []).map(parseRoute) });
  const until = Date.now() + duration * 1000;
  process.stderr.write(`uvs router: ${router.describe()}\n`);

  // The router blocks in poll(2) for at most 20 ms at a time and yields to the event
  // loop between slices, so signals are handled promptly.
  let stop = false;
  const onSignal = (): void => {
    stop = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const interval = values['stats-interval'] ? Number(values['stats-interval']) * 1000 : 0;
  const timer = interval > 0 ? setInterval(() => process.stdout.write(JSON.stringify(router.stats()) + '\n'), interval) : undefined;
  await new Promise<void>((resolve) => {
    const slice = (): void => {
      const end = Date.now() + 20;
      while (!stop && Date.now() < end && Date.now() < until) router.runOnce(20);
      if (stop || Date.now() >= until) resolve();
      else setImmediate(slice);
    };
    slice();
  });
  if (timer) clearInterval(timer);
  process.stdout.write(JSON.stringify(router.stats()) + '\n');
  router.close();
  return 0;
}
