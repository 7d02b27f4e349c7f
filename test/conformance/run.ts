// The whole differential run: every packet-driven scenario (scheduling, states,
// persistence) and the ipvsadm listing/error session batched into one guest boot, then each
// replayed on the uvs side and compared. Used by the tap test and by `npm run conformance`.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diffObservations } from './compare.js';
import { withoutDeliberate } from './deliberate.js';
import { guestImage, type GuestImage } from './harness/image.js';
import { runInGuest } from './harness/vm.js';
import { listingGuestScript, listingScenario, runListingOnUvs } from './scenarios/listings.js';
import { persistenceScenarios } from './scenarios/persistence.js';
import { schedulingScenarios } from './scenarios/scheduling.js';
import { guestScript, kernelObservations, uvsObservations, type Observation, type PacketScenario } from './scenarios/script.js';
import { stateScenarios } from './scenarios/states.js';
import { guestPrelude } from './scenarios/topology.js';

export interface ScenarioResult {
  name: string;
  group: string;
  title: string;
  same: boolean;
  /** Readable diff (kernel "-", uvs "+") when not the same; property violations too. */
  diff: string;
  note?: string;
  /** Compared through a normalisation (a property, not the exact choices): twos. */
  relaxed?: boolean;
  /** Steps compared. */
  steps: number;
  /** Both sides' observations as text (what was compared, before normalising). */
  transcripts: { kernel: string; uvs: string };
}

export function transcript(obs: readonly Observation[]): string {
  return obs.map((o) => [`## step ${o.step}: ${o.label}`, ...o.lines].join('\n')).join('\n') + '\n';
}

export interface ConformanceRun {
  results: ScenarioResult[];
  image: GuestImage;
  bootMs: number;
  guestMs: number;
  kernel: string;
  totalMs: number;
}

/** The docs' table: one row per scenario, what ran on each side and whether they agreed. */
export function markdownTable(run: ConformanceRun): string {
  const rows = run.results.map((r) => {
    const uvs = r.group === 'listings' ? 'uvsadm → uvsd (lab netns)' : 'runUvsadm + Engine (in memory)';
    const same = r.same ? (r.relaxed ? 'yes (property)' : 'yes') : '**NO**';
    return `| ${r.name} | ${r.title.replace(/\|/g, '\\|')} | ipvsadm + IPVS ${run.kernel.split('+')[0]}, ${r.steps} steps | ${uvs} | ${same} |`;
  });
  return ['| scenario | what is compared | kernel | uvs | same? |', '|---|---|---|---|---|', ...rows].join('\n') + '\n';
}

/** Each side's observations as text files (transcripts/<scenario>.kernel.txt, .uvs.txt) and the run's summary. */
export function writeTranscripts(run: ConformanceRun, dir: string): void {
  mkdirSync(join(dir, 'transcripts'), { recursive: true });
  for (const r of run.results) for (const side of ['kernel', 'uvs'] as const) writeFileSync(join(dir, 'transcripts', `${r.name}.${side}.txt`), r.transcripts[side]);
  writeFileSync(join(dir, 'table.md'), markdownTable(run));
  writeFileSync(join(dir, 'last-run.json'), JSON.stringify({ ...run, results: run.results.map(({ transcripts: _t, ...r }) => r), at: new Date().toISOString() }, null, 2));
}

export function packetScenarios(): PacketScenario[] {
  return [...schedulingScenarios(), ...stateScenarios(), ...persistenceScenarios()];
}

function compare(sc: PacketScenario, kernel: Observation[], uvs: Observation[]): ScenarioResult {
  const violations = sc.property ? [...sc.property(kernel).map((v) => `kernel: ${v}`), ...sc.property(uvs).map((v) => `uvs: ${v}`)] : [];
  const norm = sc.normalize ?? ((o: Observation[]) => o);
  const diff = [diffObservations(norm(withoutDeliberate(kernel)), norm(uvs)), ...violations].filter((x) => x !== '').join('\n');
  return { name: sc.name, group: sc.group, title: sc.title, same: diff === '', diff, steps: sc.steps.length, ...(sc.note ? { note: sc.note } : {}), ...(sc.normalize ? { relaxed: true } : {}), transcripts: { kernel: transcript(kernel), uvs: transcript(uvs) } };
}

/** Runs everything (only the scenarios whose name matches `only`, if given). Throws ConformanceUnavailable. */
export async function runConformance(only?: RegExp, log: (line: string) => void = () => {}): Promise<ConformanceRun> {
  const started = Date.now();
  const image = guestImage();
  log(image.built ? `guest image built in ${(image.buildMs / 1000).toFixed(1)} s` : 'guest image from the cache');
  const scenarios = packetScenarios().filter((s) => !only || only.test(s.name));
  const listing = listingScenario();
  const withListing = !only || only.test(listing.name);
  const files: Record<string, string> = {};
  const clients = [...new Set(scenarios.flatMap((s) => s.clients))];
  const parts = [
    guestPrelude(clients),
    `/usr/sbin/nft 'add table ip uvs; add chain ip uvs pre { type filter hook prerouting priority -150; }'`,
  ];
  if (withListing) parts.push(listingGuestScript(listing));
  for (const sc of scenarios) {
    const g = guestScript(sc);
    Object.assign(files, g.files);
    parts.push(g.script);
  }
  files['run.sh'] = parts.join('\n');
  const guest = await runInGuest(image, files, 600_000);
  log(`guest: booted in ${(guest.bootMs / 1000).toFixed(1)} s, done in ${(guest.totalMs / 1000).toFixed(1)} s`);
  const results: ScenarioResult[] = [];
  if (withListing) results.push(await runListingOnUvs(listing, guest.files));
  for (const sc of scenarios) results.push(compare(sc, kernelObservations(sc, guest.files), uvsObservations(sc)));
  const runLog = guest.files.get('run.log') ?? '';
  if (runLog.trim()) log(`guest run.log:\n${runLog.trim().split('\n').slice(-20).join('\n')}`);
  return { results, image, bootMs: guest.bootMs, guestMs: guest.totalMs, kernel: (guest.files.get('kernel') ?? '').trim(), totalMs: Date.now() - started };
}
