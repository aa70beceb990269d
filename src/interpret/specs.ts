/**
 * Vega-Lite chart specs: the one place where Kestrel's plots are designed. Pure data in, JSON spec out,
 * with no imports, so the same compiled file renders PNGs in Node (render.ts) and live charts in the
 * dashboard's browser page (served as an ES module).
 */
// NOTE: Vega-Lite was chosen because one spec renders identically to SVG in Node (no canvas, no native
// code; sharp turns the SVG into PNG) and in the browser (streaming inserts for live curves); uPlot and
// Chart.js draw only onto a browser canvas. Plots, reports and dashboards therefore share one look.

/** A Vega-Lite spec (plain JSON). */
export type VegaLiteSpec = Record<string, unknown>;

/** Matplotlib's tab10 palette, the colours of every Kestrel chart. */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** Font stack of every chart and page. */
export const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/** The shared look: fonts, axes, grid, legend and palette (a Vega config). */
export const THEME: Record<string, unknown> = {
  font: FONT,
  background: 'white',
  padding: 10,
  title: { fontSize: 17, fontWeight: 'bold', color: '#222', offset: 14, anchor: 'middle' },
  axis: {
    labelFontSize: 13, titleFontSize: 14, titleFontWeight: 'normal', labelColor: '#222', titleColor: '#222',
    gridColor: '#e5e5e5', domainColor: '#333', tickColor: '#333', tickSize: 6, titlePadding: 12, labelPadding: 4, labelFlush: false,
  },
  view: { stroke: '#333', strokeWidth: 1.2 },
  legend: {
    labelFontSize: 13, titleFontSize: 13, fillColor: 'rgba(255,255,255,0.9)', strokeColor: '#bbb', padding: 8, cornerRadius: 4,
    symbolStrokeWidth: 2.5, symbolSize: 260, rowPadding: 6, offset: 10, labelLimit: 320,
  },
  range: { category: PALETTE },
  line: { strokeWidth: 2.2, strokeJoin: 'round' },
  point: { size: 40, filled: true },
  header: { labelFontSize: 13, titleFontSize: 14 },
};

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
  /** Dash pattern, e.g. '6 4'. */
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

/** A whole line chart. */
export interface ChartSpec {
  title: string;
  x: AxisSpec;
  y: AxisSpec;
  /** Second y axis on the right (twin axes). */
  y2?: AxisSpec;
  series: SeriesSpec[];
  markers?: MarkerSpec[];
  /** Pixels of the whole picture (default 800 x 500). */
  width?: number;
  height?: number;
}

/** Rounds a tick value for display (no 0.30000000000000004). */
export function formatTick(value: number, step: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) return value.toExponential(Math.max(0, Math.min(6, -Math.floor(Math.log10(step)) + Math.floor(Math.log10(magnitude))))).replace(/\.?0+e/, 'e');
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return value.toFixed(Math.min(decimals, 8));
}

/** "Nice" linear ticks (steps of 1, 2, 2.5 or 5 times a power of ten) covering [min, max]. */
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
  if (!(min > 0)) throw new Error(`chart: a log axis needs positive values, got minimum ${min}`);
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

const SUPERSCRIPTS: Record<string, string> = { '-': '⁻', '−': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };

/** `10` with the exponent in Unicode superscripts, as matplotlib labels log axes (10⁻³). */
export function powerOfTen(exponent: number): string {
  return `10${String(Math.round(exponent)).replace(/[-−0-9]/g, (ch) => SUPERSCRIPTS[ch])}`;
}

// NOTE: a Vega expression that labels decades as 10ⁿ and leaves the minor ticks blank; digits become
// superscripts through one regexp replace per character (Vega's expression language has no lookup tables);
// d3-format writes minus as U+2212.
const LOG_LABEL_EXPR = (() => {
  let expr = "format(log(datum.value) / LN10, 'd')";
  for (const [ch, sup] of Object.entries(SUPERSCRIPTS)) expr = `replace(${expr}, regexp('${ch === '-' ? '\\\\-' : ch}', 'g'), '${sup}')`;
  return `abs(log(datum.value) / LN10 - round(log(datum.value) / LN10)) < 1e-6 ? '10' + ${expr} : ''`;
})();

const finite = (values: number[]): number[] => values.filter((v) => Number.isFinite(v));

/** Scale and axis of one encoding channel for `axis` over `values` (null: nothing to show). */
function axisEncoding(axis: AxisSpec, values: number[], orient?: 'left' | 'right'): { scale: Record<string, unknown>; axis: Record<string, unknown> } {
  const shown = finite(values).filter((v) => !axis.log || v > 0);
  const dataMin = axis.min ?? (shown.length ? Math.min(...shown) : 0);
  const dataMax = axis.max ?? (shown.length ? Math.max(...shown) : 1);
  const base: Record<string, unknown> = { title: axis.label, grid: orient !== 'right', ...(orient ? { orient } : {}) };
  if (axis.log) {
    const t = logTicks(dataMin > 0 ? dataMin : 1e-12, dataMax > 0 ? dataMax : 1);
    // NOTE: minor ticks (2..9 x 10ⁿ) are short and draw no grid line, as in matplotlib.
    const decade = 'abs(log(datum.value) / LN10 - round(log(datum.value) / LN10)) < 1e-6';
    return {
      scale: { type: 'log', domain: [t.min, t.max], nice: false },
      axis: { ...base, values: [...t.ticks, ...t.minor].sort((a, b) => a - b), labelExpr: LOG_LABEL_EXPR, gridOpacity: { condition: { test: decade, value: 1 }, value: 0 }, tickSize: { condition: { test: decade, value: 6 }, value: 3 } },
    };
  }
  const t = linearTicks(dataMin, dataMax);
  const lo = axis.min ?? t.min; const hi = axis.max ?? t.max;
  return { scale: { type: 'linear', domain: [lo, hi], nice: false, zero: false }, axis: { ...base, values: t.ticks.filter((v) => v >= lo - 1e-12 && v <= hi + 1e-12), format: t.step >= 1 ? 'd' : `.${Math.min(8, Math.max(0, -Math.floor(Math.log10(t.step) + 1e-9)))}f` } };
}

/** Inside corner of the plot that covers the fewest points (legend placement), in data-fraction space. */
function quietCorner(spec: ChartSpec, xs: ReturnType<typeof axisEncoding>, ys: ReturnType<typeof axisEncoding>, y2s?: ReturnType<typeof axisEncoding>): string {
  const fraction = (enc: ReturnType<typeof axisEncoding>, v: number): number => {
    const [lo, hi] = enc.scale.domain as [number, number];
    return enc.scale.type === 'log' ? (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : (v - lo) / (hi - lo);
  };
  const points: [number, number][] = [];
  for (const s of spec.series) {
    const scale = s.axis === 'right' && y2s ? y2s : ys;
    // NOTE: sampled between points too, so a legend is not placed over a line joining two far points.
    for (let i = 0; i < s.x.length; i++) {
      const a: [number, number] = [fraction(xs, s.x[i]), fraction(scale, s.y[i])];
      points.push(a);
      if (i + 1 < s.x.length) {
        const b: [number, number] = [fraction(xs, s.x[i + 1]), fraction(scale, s.y[i + 1])];
        for (let k = 1; k < 10; k++) points.push([a[0] + ((b[0] - a[0]) * k) / 10, a[1] + ((b[1] - a[1]) * k) / 10]);
      }
    }
  }
  const w = 0.38; const h = Math.min(0.5, 0.09 * (spec.series.length + (spec.markers?.length ?? 0)) + 0.05);
  const corners: [string, number, number][] = [['top-right', 1 - w, 1 - h], ['top-left', 0, 1 - h], ['bottom-right', 1 - w, 0], ['bottom-left', 0, 0]];
  const count = ([, x0, y0]: [string, number, number]): number => points.filter(([x, y]) => x >= x0 && x <= x0 + w && y >= y0 && y <= y0 + h).length;
  return corners.reduce((best, corner) => (count(corner) < count(best) ? corner : best))[0];
}

/** Turns a ChartSpec into a Vega-Lite spec (lines, dots, dashes, markers, twin axes, legend inside the plot). */
export function lineChartSpec(spec: ChartSpec): VegaLiteSpec {
  const width = spec.width ?? 800; const height = spec.height ?? 500;
  const left = spec.series.filter((s) => (s.axis ?? 'left') === 'left');
  const right = spec.series.filter((s) => s.axis === 'right');
  const xs = axisEncoding(spec.x, spec.series.flatMap((s) => s.x));
  const ys = axisEncoding(spec.y, [...left.flatMap((s) => s.y), ...(spec.markers ?? []).filter((m) => m.axis !== 'right').map((m) => m.y)], 'left');
  const y2s = spec.y2 ? axisEncoding(spec.y2, right.flatMap((s) => s.y), 'right') : undefined;
  const labels = [...spec.series.map((s) => s.label), ...(spec.markers ?? []).map((m) => m.label)];
  const legendOrient = quietCorner(spec, xs, ys, y2s);
  const markerLabels = (spec.markers ?? []).map((m) => m.label);
  const dashes = [...spec.series.map((s) => (s.dash ? s.dash.split(/\s+/).map(Number) : [1, 0])), ...markerLabels.map(() => [1, 0])];
  const colour = {
    field: 'series', type: 'nominal', sort: labels,
    scale: { domain: labels, range: [...spec.series.map((s) => s.color), ...(spec.markers ?? []).map((m) => m.color)] },
    legend: {
      title: null, orient: legendOrient,
      // NOTE: per-entry symbols: a stroke (dashed like its line) for a series, an open circle for a marker.
      symbolType: { expr: `indexof(${JSON.stringify(markerLabels)}, datum.value) >= 0 ? 'circle' : 'stroke'` },
      symbolSize: { expr: `indexof(${JSON.stringify(markerLabels)}, datum.value) >= 0 ? 110 : 260` },
      symbolDash: { expr: `${JSON.stringify(dashes)}[indexof(${JSON.stringify(labels)}, datum.value)]` },
    },
  };
  const rows = (series: SeriesSpec[]) => series.flatMap((s) => s.x.map((x, i) => ({ x, y: s.y[i], series: s.label })).filter((r) => Number.isFinite(r.x) && Number.isFinite(r.y) && (!spec.x.log || r.x > 0)));
  const layer = (series: SeriesSpec[], enc: ReturnType<typeof axisEncoding>): VegaLiteSpec[] => series.map((s) => ({
    data: { values: rows([s]) },
    mark: { type: 'line', clip: true, color: s.color, ...(s.dash ? { strokeDash: s.dash.split(/\s+/).map(Number) } : {}), ...(s.dots ? { point: { filled: true, size: 45, color: s.color } } : {}) },
    encoding: {
      x: { field: 'x', type: 'quantitative', scale: xs.scale, axis: xs.axis },
      y: { field: 'y', type: 'quantitative', scale: enc.scale, axis: enc.axis },
      color: colour,
    },
  }));
  const markerLayers: VegaLiteSpec[] = (spec.markers ?? []).map((m) => {
    const enc = m.axis === 'right' && y2s ? y2s : ys;
    return {
      data: { values: [{ x: m.x, y: m.y, series: m.label }] },
      layer: [
        { mark: { type: 'point', shape: 'circle', filled: false, size: 200, strokeWidth: 2.5, color: m.color, opacity: 1, clip: true } },
        { mark: { type: 'point', shape: 'circle', filled: true, size: 25, color: m.color, opacity: 1, clip: true } },
      ],
      encoding: { x: { field: 'x', type: 'quantitative', scale: xs.scale, axis: xs.axis }, y: { field: 'y', type: 'quantitative', scale: enc.scale, axis: enc.axis }, color: { ...colour, legend: null } },
    };
  });
  const leftLayers = [...layer(left, ys), ...markerLayers.filter((_, i) => spec.markers![i].axis !== 'right')];
  const rightLayers = [...(y2s ? layer(right, y2s) : []), ...markerLayers.filter((_, i) => spec.markers![i].axis === 'right')];
  const body: VegaLiteSpec = rightLayers.length > 0 && y2s
    ? { layer: [{ layer: leftLayers }, { layer: rightLayers }], resolve: { scale: { y: 'independent' }, axis: { y: 'independent' } } }
    : { layer: leftLayers };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: spec.title, width, height, autosize: { type: 'fit', contains: 'padding' },
    config: THEME, ...body,
  };
}

/** Options of {@link confusionMatrixSpec}. */
export interface ConfusionMatrixChart {
  classes: readonly string[];
  /** Counts, rows = actual class, columns = predicted class. */
  counts: readonly (readonly number[])[];
  /** Show row-normalised fractions instead of counts. */
  normalize?: boolean;
  title?: string;
  /** Pixels per cell (default 44). */
  cell?: number;
}

/** A confusion-matrix heatmap (rows actual, columns predicted) with the value written in each cell. */
export function confusionMatrixSpec(options: ConfusionMatrixChart): VegaLiteSpec {
  const { classes, counts } = options;
  const values: { actual: string; predicted: string; value: number; text: string; a: number; p: number }[] = [];
  counts.forEach((row, a) => {
    const total = row.reduce((s, v) => s + v, 0);
    row.forEach((count, p) => {
      const value = options.normalize ? (total > 0 ? count / total : 0) : count;
      values.push({ actual: classes[a], predicted: classes[p], value, text: options.normalize ? value.toFixed(2) : String(count), a, p });
    });
  });
  const max = Math.max(1e-12, ...values.map((v) => v.value));
  const cell = options.cell ?? Math.max(22, Math.min(48, Math.floor(520 / Math.max(1, classes.length))));
  const fontSize = Math.max(8, Math.min(13, Math.floor(cell / 3.4)));
  const order = [...classes];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title ?? (options.normalize ? 'Confusion matrix (normalised by actual class)' : 'Confusion matrix'),
    config: { ...THEME, view: { stroke: null }, axis: { ...(THEME.axis as object), grid: false, domain: false, ticks: false } },
    width: cell * classes.length, height: cell * classes.length,
    data: { values },
    encoding: {
      x: { field: 'predicted', type: 'ordinal', sort: order, title: 'Predicted', axis: { orient: 'bottom', labelAngle: -45, labelLimit: 140 } },
      y: { field: 'actual', type: 'ordinal', sort: order, title: 'Actual', axis: { labelLimit: 140 } },
    },
    layer: [
      { mark: { type: 'rect', stroke: 'white', strokeWidth: 1 }, encoding: { color: { field: 'value', type: 'quantitative', scale: { scheme: 'blues', domain: [0, max] }, legend: null } } },
      {
        mark: { type: 'text', fontSize, baseline: 'middle' },
        encoding: {
          text: { field: 'text' },
          color: { condition: { test: `datum.value > ${max / 2}`, value: 'white' }, value: '#222' },
        },
      },
    ],
  };
}

/** Options of {@link streamingLineSpec}. */
export interface StreamingLineChart {
  title: string;
  x: AxisSpec;
  y: AxisSpec;
  /** Name of the Vega dataset that rows `{x, y, series}` are inserted into. */
  data: string;
  /** Series labels in legend order, and their colours (default: the palette). */
  series: string[];
  colors?: string[];
  /** Dashes per series label. */
  dashes?: Record<string, number[]>;
  /** Draw dots at the points. */
  dots?: boolean;
  /** The x values are whole numbers (epochs): integer ticks. */
  integerX?: boolean;
  width?: number;
  height?: number;
}

/**
 * A line chart whose rows arrive later (`view.insert(data, rows)`): the dashboard's live curves and the
 * runs page's overlays. Axes follow the data; a log y axis labels decades as 10ⁿ.
 */
export function streamingLineSpec(options: StreamingLineChart): VegaLiteSpec {
  const colors = options.colors ?? options.series.map((_, i) => PALETTE[i % PALETTE.length]);
  const axisOf = (axis: AxisSpec): { scale: Record<string, unknown>; axis: Record<string, unknown> } => ({
    scale: axis.log ? { type: 'log', ...(axis.min !== undefined && axis.max !== undefined ? { domain: [axis.min, axis.max] } : {}) } : { zero: false, ...(axis.min !== undefined && axis.max !== undefined ? { domain: [axis.min, axis.max] } : {}) },
    axis: { title: axis.label, ...(axis.log ? { labelExpr: LOG_LABEL_EXPR } : {}) },
  });
  const x = axisOf(options.x); const y = axisOf(options.y);
  // NOTE: '~g' keeps labels short whatever the range (0.726, 1e-5); epochs get whole-number ticks.
  if (!options.y.log) y.axis.format = '~g';
  x.axis.format = options.integerX ? 'd' : '~g';
  if (options.integerX) x.axis.tickMinStep = 1;
  const dashes = options.dashes ?? {};
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title, width: options.width ?? 'container', height: options.height ?? 260,
    // NOTE: extra room on the left: in the browser Vega's fit measured long y labels (0.85) a few pixels short.
    autosize: { type: 'fit', contains: 'padding' }, padding: { left: 22, right: 10, top: 10, bottom: 10 },
    config: { ...THEME, title: { ...(THEME.title as object), fontSize: 15 } },
    data: { name: options.data },
    mark: { type: 'line', clip: true, ...(options.dots ? { point: { filled: true, size: 35 } } : {}) },
    encoding: {
      x: { field: 'x', type: 'quantitative', scale: x.scale, axis: x.axis },
      y: { field: 'y', type: 'quantitative', scale: y.scale, axis: y.axis },
      color: { field: 'series', type: 'nominal', sort: options.series, scale: { domain: options.series, range: colors }, legend: { title: null, orient: 'top-right', symbolType: 'stroke' } },
      strokeDash: { field: 'series', type: 'nominal', sort: options.series, scale: { domain: options.series, range: options.series.map((s) => dashes[s] ?? [1, 0]) }, legend: null },
    },
  };
}
