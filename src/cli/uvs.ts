#!/usr/bin/env node
// uvs: the umbrella command. Each subcommand lives in its own module under src/cli/ and
// exports `run(argv): Promise<number>` (the exit code).

const subcommands: Record<string, { module: string; summary: string }> = {
  lab: { module: './lab.js', summary: 'lab up|down|status: the network-namespace lab' },
  forward: { module: './forward.js', summary: 'forward --config FILE: the balancing datapath (NAT/DR/TUN) without the daemon' },
  router: { module: './router.js', summary: 'router --if A --if B: an L3 router over AF_PACKET rings (the frame-I/O baseline)' },
  demo: { module: './demo.js', summary: 'demo: build a lab and push real traffic through uvs' },
  decap: { module: './decap.js', summary: 'decap: userspace IPIP decapsulator for LVS-TUN real servers (AF_PACKET in, TUN out)' },
  bench: { module: '../../bench/harness/run.js', summary: 'bench [--quick]: the benchmark harness: uvs next to direct, kernel NAT and HAProxy in one lab' },
};

function usage(): string {
  const lines = ['usage: uvs <command> [options]', '', 'commands:'];
  for (const [name, { summary }] of Object.entries(subcommands)) lines.push(`  ${name.padEnd(10)} ${summary}`);
  return lines.join('\n') + '\n';
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(usage());
    return command === undefined ? 2 : 0;
  }
  const entry = subcommands[command];
  if (entry === undefined) {
    process.stderr.write(`uvs: unknown command '${command}'\n${usage()}`);
    return 2;
  }
  const mod = (await import(entry.module)) as { run(argv: string[]): Promise<number> };
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    const e = err as { code?: string; message?: string };
    process.stderr.write(`uvs: ${e.code ? e.code + ': ' : ''}${e.message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
