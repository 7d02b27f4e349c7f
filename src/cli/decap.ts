// `uvs decap`: the userspace IPIP decapsulator for LVS-TUN real servers whose kernel has no
// ipip module (src/decap/, docs/decap.md). Runs in this network namespace until SIGINT,
// SIGTERM, SIGHUP or --duration, then removes what it installed and prints its counters as
// one JSON line on stdout.
//
//   uvs decap [--if eth0] [--tun uvsdecap0] [--vip 198.18.0.100]... [--6in4]

import { closeSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UvsError } from '../errors.js';
import { DEFAULT_DECAP_IF, DEFAULT_TUN, DecapService } from '../decap/service.js';
import { DEFAULT_NFT_TABLE } from '../decap/nft.js';
import { DECAP_ERROR_CODES } from '../decap/tun.js';

const USAGE = `usage: uvs decap [--if IFACE] [--tun NAME] [--vip ADDR]... [--6in4] [--local ADDR]...
                 [--nft-table NAME | --no-nft] [--no-rp-filter] [--force]
                 [--duration SECONDS] [--stats-interval SECONDS] [--ready-fd N]

Decapsulates IPIP (IPv4-in-IPv4, protocol 4) packets arriving on IFACE (default ${DEFAULT_DECAP_IF})
and hands the inner packets to this host's stack through the TUN device NAME (default
${DEFAULT_TUN}), like the kernel's tunl0 would. For LVS-TUN real servers whose kernel has no
ipip module.

  --vip ADDR        accept only inner packets for ADDR (repeat for more; IPv6 needs --6in4);
                    without --vip any inner destination is accepted
  --6in4            also decapsulate IPv6-in-IPv4 (protocol 41)
  --local ADDR      outer destinations to accept (repeat); default: this host's IPv4 addresses
  --nft-table NAME  nftables table (family ip) that keeps the kernel from answering tunnelled
                    packets with ICMP protocol unreachable (default ${DEFAULT_NFT_TABLE})
  --no-nft          install no table (drop IP protocol 4 on input yourself)
  --no-rp-filter    leave rp_filter alone (default: 0 on NAME, 'all' strict -> loose)
  --force           run even if the kernel has ipip (tunl0)
  --duration S      stop after S seconds
  --stats-interval S  print the counters every S seconds
  --ready-fd N      write one JSON line to fd N once running, then close it

Counters are printed as one JSON line on stdout at exit.`;

function positive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new UvsError(DECAP_ERROR_CODES.BAD_OPTION, `--${name} must be a positive number, got '${v}'`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        if: { type: 'string' },
        tun: { type: 'string' },
        vip: { type: 'string', multiple: true },
        '6in4': { type: 'boolean' },
        local: { type: 'string', multiple: true },
        'nft-table': { type: 'string' },
        'no-nft': { type: 'boolean' },
        'no-rp-filter': { type: 'boolean' },
        force: { type: 'boolean' },
        duration: { type: 'string' },
        'stats-interval': { type: 'string' },
        'ready-fd': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`uvs decap: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (values['no-nft'] && values['nft-table'] !== undefined) {
    process.stderr.write(`uvs decap: --nft-table and --no-nft exclude each other\n${USAGE}\n`);
    return 2;
  }
  const duration = positive('duration', values.duration) ?? Infinity;
  const statsEvery = positive('stats-interval', values['stats-interval']);
  let readyFd: number | undefined;
  if (values['ready-fd'] !== undefined) {
    readyFd = Number(values['ready-fd']);
    if (!Number.isInteger(readyFd) || readyFd < 3) throw new UvsError(DECAP_ERROR_CODES.BAD_OPTION, `--ready-fd must be an fd number >= 3, got '${values['ready-fd']}'`);
  }

  const log = (line: string): void => {
    process.stderr.write(`uvs decap: ${line}\n`);
  };
  const service = DecapService.start({
    ifname: values.if ?? DEFAULT_DECAP_IF,
    tun: values.tun ?? DEFAULT_TUN,
    vips: values.vip ?? [],
    sixInFour: values['6in4'] ?? false,
    localAddresses: values.local,
    nft: !values['no-nft'],
    nftTable: values['nft-table'] ?? DEFAULT_NFT_TABLE,
    force: values.force ?? false,
    manageRpFilter: !values['no-rp-filter'],
    log,
  });
  // Last resort: whatever ends the process, the table and the TUN device go with it.
  const onExit = (): void => {
    service.stop();
  };
  process.once('exit', onExit);

  const i = service.info;
  log(
    `${i.ifname} -> ${i.tun}: decapsulating IPIP${i.sixInFour ? ' and 6in4' : ''} for ${i.localAddresses.length ? i.localAddresses.join(', ') : 'any address'}` +
      `, inner destinations ${i.vips.length ? i.vips.join(', ') : 'any (no --vip)'}` +
      (i.nftTable ? `; nftables table ip ${i.nftTable} installed` : '') +
      (i.kernelIpip ? '; the kernel has ipip (--force)' : ''),
  );
  if (readyFd !== undefined) {
    try {
      writeSync(readyFd, JSON.stringify({ ready: true, pid: process.pid, ...i }) + '\n');
      closeSync(readyFd);
    } catch (err) {
      log(`cannot write to --ready-fd ${readyFd}: ${(err as Error).message}`);
    }
  }

  let stop = false;
  const onSignal = (): void => {
    stop = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const timer = statsEvery ? setInterval(() => process.stdout.write(JSON.stringify(service.stats()) + '\n'), statsEvery * 1000) : undefined;
  const until = Date.now() + duration * 1000;
  try {
    // poll(2) blocks this thread for at most 20 ms at a time; between slices the event loop
    // runs, so signals and the stats timer are handled promptly.
    await new Promise<void>((resolve, reject) => {
      const slice = (): void => {
        try {
          const end = Date.now() + 20;
          while (!stop && Date.now() < end && Date.now() < until) service.runOnce(20);
        } catch (err) {
          reject(err);
          return;
        }
        if (stop || Date.now() >= until) resolve();
        else setImmediate(slice);
      };
      slice();
    });
  } finally {
    if (timer) clearInterval(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    process.off('exit', onExit);
    const report = service.stop();
    for (const e of report.errors) log(e);
    process.stdout.write(JSON.stringify(report.stats) + '\n');
  }
  return 0;
}
