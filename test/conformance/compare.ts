// Kernel vs uvs observations compared step by step; a difference reads as a small unified
// diff per step ("-" the kernel, "+" uvs), under the step's index and command.

import type { Observation } from './scenarios/script.js';

/** Line diff by longest common subsequence (observations are short). */
export function lineDiff(a: readonly string[], b: readonly string[]): string[] {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push(`  ${a[i]}`);
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i]![j + 1]! > lcs[i + 1]![j]!)) out.push(`+ ${b[j++]}`);
    else out.push(`- ${a[i++]}`);
  }
  return out;
}

/** '' when both sides observed the same; otherwise the differing steps as diffs. */
export function diffObservations(kernel: readonly Observation[], uvs: readonly Observation[], maxSteps = 4): string {
  const parts: string[] = [];
  let differing = 0;
  for (let s = 0; s < Math.max(kernel.length, uvs.length); s++) {
    const k = kernel[s]?.lines ?? [];
    const u = uvs[s]?.lines ?? [];
    if (k.length === u.length && k.every((l, i) => l === u[i])) continue;
    differing++;
    if (differing > maxSteps) continue;
    parts.push(`step ${s}: ${kernel[s]?.label ?? uvs[s]?.label}`, ...lineDiff(k, u));
  }
  if (differing > maxSteps) parts.push(`... and ${differing - maxSteps} more differing steps`);
  return parts.join('\n');
}
