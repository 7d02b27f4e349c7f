// bench/harness/svg: hand-written SVG bar charts for the harness's results (no dependency).
// One chart per scenario, one panel per compared metric: a horizontal bar per balancer at
// its median, a whisker from min to max, the median written at the bar's end.

export interface Bar {
  name: string;
  median: number | null;
  min: number | null;
  max: number | null;
}

export interface Panel {
  title: string;
  bars: Bar[];
  format(v: number | null): string;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const COLOURS: Record<string, string> = { direct: '#7f7f7f', 'kernel-nat': '#1f77b4', haproxy: '#ff7f0e' };
const colour = (name: string): string => COLOURS[name] ?? (name.startsWith('uvs-dr') ? '#2ca02c' : name.startsWith('uvs-nat') ? '#9467bd' : '#8c564b');

export function chartSvg(title: string, panels: Panel[]): string {
  const width = 720;
  const left = 110;
  const right = 80;
  const barH = 18;
  const gap = 6;
  const plotW = width - left - right;
  const out: string[] = [];
  let y = 28;
  out.push(`<text x="10" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`);
  for (const p of panels) {
    y += 14;
    out.push(`<text x="10" y="${y}" font-size="12">${esc(p.title)}</text>`);
    y += 8;
    const top = Math.max(0, ...p.bars.map((b) => Math.max(b.max ?? 0, b.median ?? 0)));
    const scale = (v: number): number => (top > 0 ? (v / top) * plotW : 0);
    for (const b of p.bars) {
      const cy = y + barH / 2;
      out.push(`<text x="${left - 6}" y="${cy + 4}" font-size="11" text-anchor="end">${esc(b.name)}</text>`);
      if (b.median !== null) {
        const w = scale(b.median);
        out.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${colour(b.name)}"/>`);
        if (b.min !== null && b.max !== null && b.max > b.min) {
          const x0 = left + scale(b.min);
          const x1 = left + scale(b.max);
          out.push(`<line x1="${x0.toFixed(1)}" y1="${cy}" x2="${x1.toFixed(1)}" y2="${cy}" stroke="#000" stroke-width="1"/>`);
          out.push(`<line x1="${x0.toFixed(1)}" y1="${cy - 4}" x2="${x0.toFixed(1)}" y2="${cy + 4}" stroke="#000"/>`);
          out.push(`<line x1="${x1.toFixed(1)}" y1="${cy - 4}" x2="${x1.toFixed(1)}" y2="${cy + 4}" stroke="#000"/>`);
        }
        out.push(`<text x="${(left + Math.max(w, scale(b.max ?? 0)) + 4).toFixed(1)}" y="${cy + 4}" font-size="11">${esc(p.format(b.median))}</text>`);
      } else {
        out.push(`<text x="${left + 4}" y="${cy + 4}" font-size="11" fill="#888">no result</text>`);
      }
      y += barH + gap;
    }
    y += 6;
  }
  const height = y + 6;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}
