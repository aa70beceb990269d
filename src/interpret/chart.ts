/** A small SVG line-chart renderer (axes, ticks, labels, legend, twin y axes, log x), saved as PNG via sharp. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import sharp from 'sharp';

/** One axis: its label, scale and optional fixed range. */
export interface AxisSpec {
  /** Axis title. */
  label: string;
  /** Logarithmic scale (base 10); every value must be > 0. */
  log?: boolean;
  /** Fixed lower bound (default: from the data). */
  min?: number;
  /** Fixed upper bound (default: from the data). */
  max?: number;
}

/** A line (and optional dots) of a chart. */
export interface SeriesSpec {
  /** x values. */
  x: number[];
  /** y values (NaN points are skipped, breaking the line). */
  y: number[];
  /** Legend text. */
  label: string;
  /** CSS colour. */
  color: string;
  /** Which y axis (default 'left'). */
  axis?: 'left' | 'right';
  /** SVG stroke-dasharray, e.g. '6 4'. */
  dash?: string;
  /** Draw a dot at every point. */
  dots?: boolean;
}

/** A highlighted point with a text label (e.g. an lr suggestion). */
export interface MarkerSpec {
  x: number;
  y: number;
  label: string;
  color: string;
  /** Which y axis (default 'left'). */
  axis?: 'left' | 'right';
}

/** A whole chart. */
export interface ChartSpec {
  title: string;
  x: AxisSpec;
  y: AxisSpec;
  /** Second y axis on the right (twin axes). */
  y2?: AxisSpec;
  series: SeriesSpec[];
  markers?: MarkerSpec[];
  /** Pixels (default 800 x 500). */
  width?: number;
  height?: number;
}

const FONT = 'DejaVu Sans, Arial, Helvetica, sans-serif';

/** Escapes text for SVG. */
function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Rounds a tick value for display (no 0.30000000000000004). */
function formatTick(value: number, step: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) return value.toExponential(Math.max(0, Math.min(6, -Math.floor(Math.log10(step)) + Math.floor(Math.log10(magnitude))))).replace(/\.?0+e/, 'e');
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return value.toFixed(Math.min(decimals, 8));
}

/** "Nice" linear ticks (steps of 1, 2 or 5 times a power of ten) covering [min, max]. */
export function linearTicks(min: number, max: number, target = 6): { ticks: number[]; min: number; max: number; step: number } {
  if (!(max > min)) { const pad = Math.abs(min) * 0.1 || 1; min -= pad; max += pad; }
  const raw = (max - min) / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const lo = Math.floor(min / step + 1e-9) * step;
  const hi = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return { ticks, min: lo, max: hi, step };
}

/** Decade ticks of a log axis covering [min, max] (min > 0), with minor ticks at 2..9. */
export function logTicks(min: number, max: number): { ticks: number[]; minor: number[]; min: number; max: number } {
  if (!(min > 0)) throw new Error(`chart.ts: a log axis needs positive values, got minimum ${min}`);
  let lo = Math.floor(Math.log10(min) + 1e-9);
  let hi = Math.ceil(Math.log10(max) - 1e-9);
  if (hi <= lo) { lo -= 1; hi += 1; }
  const ticks: number[] = [];
  const minor: number[] = [];
  for (let e = lo; e <= hi; e++) {
    ticks.push(10 ** e);
    if (e < hi) for (let m = 2; m < 10; m++) minor.push(m * 10 ** e);
  }
  return { ticks, minor, min: 10 ** lo, max: 10 ** hi };
}

interface Scale { map(v: number): number; ticks: number[]; minor: number[]; label(v: number): string; superscript: boolean }

function makeScale(axis: AxisSpec, values: number[], from: number, to: number): Scale {
  const finite = values.filter((v) => Number.isFinite(v) && (!axis.log || v > 0));
  const dataMin = axis.min ?? (finite.length ? Math.min(...finite) : 0);
  const dataMax = axis.max ?? (finite.length ? Math.max(...finite) : 1);
  if (axis.log) {
    const t = logTicks(dataMin, dataMax);
    const a = Math.log10(t.min); const b = Math.log10(t.max);
    return { map: (v) => from + ((Math.log10(v) - a) / (b - a)) * (to - from), ticks: t.ticks, minor: t.minor, label: (v) => String(Math.round(Math.log10(v))), superscript: true };
  }
  const t = linearTicks(dataMin, dataMax);
  const lo = axis.min ?? t.min; const hi = axis.max ?? t.max;
  return { map: (v) => from + ((v - lo) / (hi - lo)) * (to - from), ticks: t.ticks.filter((v) => v >= lo - 1e-12 && v <= hi + 1e-12), minor: [], label: (v) => formatTick(v, t.step), superscript: false };
}

function tickText(scale: Scale, v: number, x: number, y: number, anchor: string): string {
  if (!scale.superscript) return `<text x="${x}" y="${y}" text-anchor="${anchor}">${esc(scale.label(v))}</text>`;
  // NOTE: log ticks read 10^k, with k raised as a superscript (as matplotlib draws them).
  return `<text x="${x}" y="${y}" text-anchor="${anchor}">10<tspan dy="-6" font-size="10">${esc(scale.label(v))}</tspan></text>`;
}

/** Points along a polyline, 10 per segment, so a legend is not placed over a line between two far points. */
function samples(points: [number, number][]): [number, number][] {
  const out: [number, number][] = points.slice(0, 1);
  for (let i = 1; i < points.length; i++) {
    const [x0, y0] = points[i - 1]; const [x1, y1] = points[i];
    for (let k = 1; k <= 10; k++) out.push([x0 + ((x1 - x0) * k) / 10, y0 + ((y1 - y0) * k) / 10]);
  }
  return out;
}

/** Renders a chart as SVG text. */
export function renderChart(spec: ChartSpec): string {
  const width = spec.width ?? 800; const height = spec.height ?? 500;
  const left = 80; const right = spec.y2 ? 80 : 30; const top = 50; const bottom = 65;
  const plotW = width - left - right; const plotH = height - top - bottom;
  const onAxis = (side: 'left' | 'right') => spec.series.filter((s) => (s.axis ?? 'left') === side);
  const xs = makeScale(spec.x, spec.series.flatMap((s) => s.x), left, left + plotW);
  const ys = makeScale(spec.y, onAxis('left').flatMap((s) => s.y), top + plotH, top);
  const y2s = spec.y2 ? makeScale(spec.y2, onAxis('right').flatMap((s) => s.y), top + plotH, top) : undefined;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" font-size="13">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${left + plotW / 2}" y="${top - 20}" text-anchor="middle" font-size="17" font-weight="bold">${esc(spec.title)}</text>`);
  // grid and ticks
  out.push('<g stroke="#e5e5e5" stroke-width="1">');
  for (const v of xs.ticks) out.push(`<line x1="${xs.map(v).toFixed(1)}" y1="${top}" x2="${xs.map(v).toFixed(1)}" y2="${top + plotH}"/>`);
  for (const v of ys.ticks) out.push(`<line x1="${left}" y1="${ys.map(v).toFixed(1)}" x2="${left + plotW}" y2="${ys.map(v).toFixed(1)}"/>`);
  out.push('</g>');
  out.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333" stroke-width="1.2"/>`);
  out.push('<g stroke="#333" stroke-width="1">');
  for (const v of xs.ticks) out.push(`<line x1="${xs.map(v).toFixed(1)}" y1="${top + plotH}" x2="${xs.map(v).toFixed(1)}" y2="${top + plotH + 6}"/>`);
  for (const v of xs.minor) if (v > xs.ticks[0] && v < xs.ticks[xs.ticks.length - 1]) out.push(`<line x1="${xs.map(v).toFixed(1)}" y1="${top + plotH}" x2="${xs.map(v).toFixed(1)}" y2="${top + plotH + 3}"/>`);
  for (const v of ys.ticks) out.push(`<line x1="${left - 6}" y1="${ys.map(v).toFixed(1)}" x2="${left}" y2="${ys.map(v).toFixed(1)}"/>`);
  if (y2s) for (const v of y2s.ticks) out.push(`<line x1="${left + plotW}" y1="${y2s.map(v).toFixed(1)}" x2="${left + plotW + 6}" y2="${y2s.map(v).toFixed(1)}"/>`);
  out.push('</g><g fill="#222">');
  for (const v of xs.ticks) out.push(tickText(xs, v, xs.map(v), top + plotH + 22, 'middle'));
  for (const v of ys.ticks) out.push(tickText(ys, v, left - 10, ys.map(v) + 4, 'end'));
  if (y2s) for (const v of y2s.ticks) out.push(tickText(y2s, v, left + plotW + 10, y2s.map(v) + 4, 'start'));
  out.push('</g>');
  // axis titles
  out.push(`<text x="${left + plotW / 2}" y="${height - 18}" text-anchor="middle" font-size="14">${esc(spec.x.label)}</text>`);
  out.push(`<text transform="translate(22 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="14">${esc(spec.y.label)}</text>`);
  if (spec.y2) out.push(`<text transform="translate(${width - 18} ${top + plotH / 2}) rotate(90)" text-anchor="middle" font-size="14">${esc(spec.y2.label)}</text>`);
  // series, clipped to the plot area
  const drawn: [number, number][][] = [];
  out.push(`<clipPath id="plot"><rect x="${left - 5}" y="${top - 5}" width="${plotW + 10}" height="${plotH + 10}"/></clipPath><g clip-path="url(#plot)">`);
  for (const s of spec.series) {
    const scale = (s.axis ?? 'left') === 'right' && y2s ? y2s : ys;
    const points: [number, number][] = [];
    let path = '';
    s.x.forEach((x, i) => {
      const y = s.y[i];
      const ok = Number.isFinite(x) && Number.isFinite(y) && (!spec.x.log || x > 0) && (!(scale === ys ? spec.y : spec.y2)?.log || y > 0);
      if (!ok) { path += ' '; return; }
      const px = xs.map(x); const py = scale.map(y);
      path += `${path === '' || path.endsWith(' ') ? 'M' : 'L'}${px.toFixed(1)},${py.toFixed(1)}`;
      points.push([px, py]);
    });
    drawn.push(points);
    out.push(`<path d="${path.trim()}" fill="none" stroke="${s.color}" stroke-width="2.2" stroke-linejoin="round"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    if (s.dots) for (const [px, py] of points) out.push(`<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="3.5" fill="${s.color}"/>`);
  }
  for (const m of spec.markers ?? []) {
    const scale = (m.axis ?? 'left') === 'right' && y2s ? y2s : ys;
    const px = xs.map(m.x); const py = scale.map(m.y);
    drawn.push([[px, py]]);
    out.push(`<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="7" fill="none" stroke="${m.color}" stroke-width="2.5"/><circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="2.5" fill="${m.color}"/>`);
  }
  out.push('</g>');
  // legend (series, then markers) in the inside corner that covers the least of the drawing
  const entries = [...spec.series.map((s) => ({ label: s.label, color: s.color, dash: s.dash, dot: false })), ...(spec.markers ?? []).map((m) => ({ label: m.label, color: m.color, dash: undefined, dot: true }))];
  const legendW = Math.max(...entries.map((e) => e.label.length), 4) * 7.4 + 46;
  const legendH = entries.length * 20 + 10;
  const corners: [number, number][] = [
    [left + plotW - legendW - 10, top + 10], [left + 10, top + 10], [left + plotW - legendW - 10, top + plotH - legendH - 10], [left + 10, top + plotH - legendH - 10],
  ];
  const covered = ([lx, ly]: [number, number]) => drawn.reduce((sum, points) => sum + samples(points).filter(([px, py]) => px >= lx - 4 && px <= lx + legendW + 4 && py >= ly - 4 && py <= ly + legendH + 4).length, 0);
  const [lx, ly] = corners.reduce((best, corner) => (covered(corner) < covered(best) ? corner : best));
  out.push(`<rect x="${lx}" y="${ly}" width="${legendW}" height="${legendH}" fill="white" fill-opacity="0.9" stroke="#bbb" rx="4"/>`);
  entries.forEach((e, i) => {
    const cy = ly + 15 + i * 20;
    out.push(e.dot
      ? `<circle cx="${lx + 22}" cy="${cy}" r="6" fill="none" stroke="${e.color}" stroke-width="2.5"/>`
      : `<line x1="${lx + 8}" y1="${cy}" x2="${lx + 36}" y2="${cy}" stroke="${e.color}" stroke-width="2.5"${e.dash ? ` stroke-dasharray="${e.dash}"` : ''}/>`);
    out.push(`<text x="${lx + 42}" y="${cy + 4}" fill="#222">${esc(e.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Renders a chart and writes it as a PNG (directories created); resolves to the path. */
export async function saveChart(spec: ChartSpec, path: string): Promise<string> {
  mkdirSync(dirname(path), { recursive: true });
  await sharp(Buffer.from(renderChart(spec))).png().toFile(path);
  return path;
}
