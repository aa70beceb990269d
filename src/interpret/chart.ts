/** Line charts (axes, ticks, legend, twin y axes, log x) as SVG or PNG, drawn by Vega-Lite with Kestrel's theme. */
import { renderSvg, savePng } from './render.js';
import { type ChartSpec, lineChartSpec } from './specs.js';

export { type AxisSpec, type ChartSpec, type MarkerSpec, type SeriesSpec, linearTicks, logTicks } from './specs.js';

/** Renders a chart as SVG text. */
export function renderChart(spec: ChartSpec): Promise<string> {
  return renderSvg(lineChartSpec(spec));
}

/** Renders a chart and writes it as a PNG (directories created); resolves to the path. */
export function saveChart(spec: ChartSpec, path: string): Promise<string> {
  return savePng(lineChartSpec(spec), path);
}
