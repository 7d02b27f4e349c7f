#!/usr/bin/env node
// bench/tools/flamegraph: turns a V8 .cpuprofile (node --cpu-prof, one per thread) into a
// self-contained SVG flame graph (icicle: the root on top, callees below; a frame's width
// is its samples, its own plus its callees') and a table of the functions with the most
// self time. No dependency: the profile is JSON, the SVG is written by hand, hover titles
// carry the numbers. Used by bench/tools/profile-worker.ts and docs/profile.md.
//
//   node dist/bench/tools/flamegraph.js PROFILE.cpuprofile [--out FILE.svg] [--title T]
//                                       [--top N] [--idle NAME,NAME]
//
// Prints the top-N self-time table (markdown) on stdout. --idle names functions whose
// self samples are waiting, not working: they are drawn grey and left out of the "busy"
// shares. An entry is a function name, or name@file-prefix. Default: V8's "(idle)" and
// "(program)", and PollSet.wait / RxRing.wait, whose self time is the native poll(2) call
// (a native call made from JavaScript shows up as its caller's self time).

import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

/** The parts of V8's Profile (Chrome DevTools protocol, Profiler domain) used here. */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number; scriptId?: string };
  hitCount?: number;
  children?: number[];
}

/** A frame of the merged call tree: same function under the same parent = one frame. */
export interface Frame {
  name: string;
  /** "file:line" (1-based line), or "" for V8's pseudo-frames and native code. */
  where: string;
  self: number;
  total: number;
  children: Frame[];
}

export interface SelfRow {
  name: string;
  where: string;
  self: number;
  /** Share of all samples. */
  share: number;
  /** Share of the busy samples (idle functions excluded); null for an idle function. */
  busyShare: number | null;
  /** Samples with this function anywhere on the stack (not counted twice for recursion). */
  inclusive: number;
}

export const DEFAULT_IDLE = ['(idle)', '(program)', 'wait@src/frameio/poll-set', 'wait@src/frameio/rx-ring'];

/** Whether a frame is idle by the list (name, or name@where-prefix). */
export function isIdle(name: string, where: string, idle: readonly string[]): boolean {
  for (const e of idle) {
    const at = e.indexOf('@');
    if (at < 0 ? e === name : e.slice(0, at) === name && where.startsWith(e.slice(at + 1))) return true;
  }
  return false;
}

/** "file:line" of a call frame: the path from the package's dist/ or src/ on, else the base name. */
export function frameWhere(cf: ProfileNode['callFrame']): string {
  if (!cf.url) return '';
  let path = cf.url.startsWith('file://') ? fileURLToPath(cf.url) : cf.url;
  const m = /\/(?:dist\/)?((?:src|bench|test)\/.*)$/.exec(path);
  path = m ? m[1]! : path.includes('node_modules/') ? path.slice(path.lastIndexOf('node_modules/')) : path.startsWith('node:') ? path : basename(path);
  return `${path}:${cf.lineNumber + 1}`;
}

function frameName(cf: ProfileNode['callFrame']): string {
  return cf.functionName || (cf.url ? '(anonymous)' : '(native)');
}

/** Self sample counts by node id: from `samples` when present (exact), else hitCount. */
function selfCounts(p: CpuProfile): Map<number, number> {
  const m = new Map<number, number>();
  if (p.samples && p.samples.length > 0) for (const id of p.samples) m.set(id, (m.get(id) ?? 0) + 1);
  else for (const n of p.nodes) m.set(n.id, n.hitCount ?? 0);
  return m;
}

/** The call tree with equal siblings merged and totals filled in. */
export function callTree(p: CpuProfile): Frame {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const counts = selfCounts(p);
  const childIds = new Set(p.nodes.flatMap((n) => n.children ?? []));
  const roots = p.nodes.filter((n) => !childIds.has(n.id));
  const build = (n: ProfileNode, into: Frame): void => {
    const name = frameName(n.callFrame);
    const where = frameWhere(n.callFrame);
    let f = into.children.find((c) => c.name === name && c.where === where);
    if (!f) {
      f = { name, where, self: 0, total: 0, children: [] };
      into.children.push(f);
    }
    f.self += counts.get(n.id) ?? 0;
    for (const c of n.children ?? []) {
      const child = byId.get(c);
      if (child) build(child, f);
    }
  };
  const top: Frame = { name: 'all', where: '', self: 0, total: 0, children: [] };
  for (const r of roots) {
    // V8's own "(root)" frame carries nothing: hang its children straight under "all".
    if (r.callFrame.functionName === '(root)') for (const c of r.children ?? []) build(byId.get(c)!, top);
    else build(r, top);
  }
  const sum = (f: Frame): number => {
    f.total = f.self + f.children.reduce((a, c) => a + sum(c), 0);
    f.children.sort((a, b) => b.total - a.total);
    return f.total;
  };
  sum(top);
  return top;
}

/** Functions by self samples, most first. */
export function selfTable(tree: Frame, idle: readonly string[] = DEFAULT_IDLE): { rows: SelfRow[]; total: number; busy: number } {
  const self = new Map<string, { name: string; where: string; self: number; inclusive: number }>();
  const walk = (f: Frame, onStack: Set<string>): void => {
    const key = `${f.name}\u0000${f.where}`;
    let row = self.get(key);
    if (!row) self.set(key, (row = { name: f.name, where: f.where, self: 0, inclusive: 0 }));
    row.self += f.self;
    const first = !onStack.has(key);
    if (first) {
      row.inclusive += f.total;
      onStack.add(key);
    }
    for (const c of f.children) walk(c, onStack);
    if (first) onStack.delete(key);
  };
  for (const c of tree.children) walk(c, new Set());
  const total = tree.total;
  const idleSamples = [...self.values()].filter((r) => isIdle(r.name, r.where, idle)).reduce((a, r) => a + r.self, 0);
  const busy = total - idleSamples;
  const rows = [...self.values()]
    .filter((r) => r.self > 0)
    .sort((a, b) => b.self - a.self)
    .map((r) => ({ ...r, share: total ? r.self / total : 0, busyShare: isIdle(r.name, r.where, idle) ? null : busy ? r.self / busy : 0 }));
  return { rows, total, busy };
}

/** Markdown table of the top `n` rows. */
export function selfTableMarkdown(t: { rows: SelfRow[]; total: number; busy: number }, n: number, usPerSample?: number, idle: readonly string[] = DEFAULT_IDLE): string {
  const pct = (x: number | null): string => (x === null ? 'idle' : `${(x * 100).toFixed(1)}%`);
  const lines = [
    `| # | function | where | self samples | of busy | of all | with callees |`,
    `| --- | --- | --- | --- | --- | --- | --- |`,
  ];
  t.rows.slice(0, n).forEach((r, i) => {
    lines.push(`| ${i + 1} | \`${r.name}\` | ${r.where || '—'} | ${r.self} | ${pct(r.busyShare)} | ${pct(r.share)} | ${pct(t.total ? r.inclusive / t.total : 0)} |`);
  });
  lines.push('', `${t.total} samples${usPerSample ? ` (${usPerSample.toFixed(0)} µs apart)` : ''}, ${t.busy} busy (idle: ${idle.join(', ')}).`);
  return lines.join('\n');
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A stable warm colour per name (cool grey for idle and V8 pseudo-frames, blue for node internals). */
function colour(f: Frame, idle: readonly string[]): string {
  if (isIdle(f.name, f.where, idle) || f.name.startsWith('(')) return 'rgb(200,200,205)';
  let h = 0;
  for (let i = 0; i < f.name.length; i++) h = (h * 31 + f.name.charCodeAt(i)) >>> 0;
  if (f.where.startsWith('node:') || f.where.startsWith('node_modules/')) return `rgb(${110 + (h % 40)},${160 + ((h >> 8) % 40)},${215 + ((h >> 16) % 30)})`;
  if (f.where === '') return `rgb(${190 + (h % 40)},${150 + ((h >> 8) % 40)},${220 + ((h >> 16) % 30)})`;
  return `rgb(${220 + (h % 35)},${90 + ((h >> 8) % 110)},${40 + ((h >> 16) % 40)})`;
}

export interface SvgOptions {
  title?: string;
  width?: number;
  idle?: readonly string[];
  /** Microseconds per sample, for the hover titles. */
  usPerSample?: number;
}

/** The icicle graph as one SVG document (no script; <title> elements give the hover text). */
export function flameSvg(tree: Frame, o: SvgOptions = {}): string {
  const width = o.width ?? 1200;
  const idle = o.idle ?? DEFAULT_IDLE;
  const rowH = 17;
  const top = 44;
  const pad = 10;
  const inner = width - 2 * pad;
  const total = Math.max(1, tree.total);
  const rects: string[] = [];
  let depthMax = 0;
  const draw = (f: Frame, x: number, depth: number): void => {
    const w = (f.total / total) * inner;
    if (w < 0.3) return;
    depthMax = Math.max(depthMax, depth);
    const y = top + depth * rowH;
    const label = f.where ? `${f.name} ${f.where}` : f.name;
    const ms = o.usPerSample ? `, ≈${((f.total * o.usPerSample) / 1000).toFixed(1)} ms` : '';
    const tip = `${label}\n${f.total} samples (${((f.total / total) * 100).toFixed(2)}%${ms}), self ${f.self} (${((f.self / total) * 100).toFixed(2)}%)`;
    const chars = Math.floor((w - 6) / 6.6);
    const text = chars >= 3 ? (label.length <= chars ? label : `${label.slice(0, Math.max(1, chars - 2))}..`) : '';
    rects.push(
      `<g><title>${esc(tip)}</title><rect x="${(pad + x).toFixed(2)}" y="${y}" width="${w.toFixed(2)}" height="${rowH - 1}" rx="2" fill="${colour(f, idle)}"/>` +
        (text ? `<text x="${(pad + x + 3).toFixed(2)}" y="${y + 12}">${esc(text)}</text>` : '') +
        `</g>`,
    );
    let cx = x;
    for (const c of f.children) {
      draw(c, cx, depth + 1);
      cx += (c.total / total) * inner;
    }
  };
  draw(tree, 0, 0);
  const height = top + (depthMax + 1) * rowH + 30;
  const title = o.title ?? 'CPU profile';
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Verdana, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fdfdf8"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15">${esc(title)}</text>`,
    `<text x="${width / 2}" y="36" text-anchor="middle" fill="#555">width = samples (self + callees); hover a frame for its numbers; grey = idle / V8 pseudo-frames, blue = node internals, warm = uvs code</text>`,
    ...rects,
    `<text x="${pad}" y="${height - 10}" fill="#555">${tree.total} samples${o.usPerSample ? `, ${o.usPerSample.toFixed(0)} µs apart` : ''}</text>`,
    `</svg>`,
    '',
  ].join('\n');
}

/** Mean sampling interval of a profile in µs (timeDeltas), or undefined. */
export function usPerSample(p: CpuProfile): number | undefined {
  const d = p.timeDeltas;
  if (!d || d.length < 2) return undefined;
  return (p.endTime - p.startTime) / d.length;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string' }, title: { type: 'string' }, top: { type: 'string', default: '25' }, idle: { type: 'string' } },
  });
  const file = positionals[0];
  if (!file) {
    process.stderr.write('usage: flamegraph PROFILE.cpuprofile [--out FILE.svg] [--title T] [--top N] [--idle A,B]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const idle = values.idle ? values.idle.split(',') : DEFAULT_IDLE;
  const tree = callTree(profile);
  const us = usPerSample(profile);
  const out = values.out ?? file.replace(/\.cpuprofile$/, '') + '.svg';
  writeFileSync(out, flameSvg(tree, { title: values.title ?? basename(file), idle, ...(us !== undefined ? { usPerSample: us } : {}) }));
  process.stdout.write(selfTableMarkdown(selfTable(tree, idle), Number(values.top), us, idle) + `\n\nwritten: ${out}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
