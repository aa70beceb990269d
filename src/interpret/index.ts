/** Interpretation: plots of training (lr finder, schedules, curves) as PNG. */
export { plotLrFind, plotLrSchedule, plotHistory, lrFindChart } from './plots.js';
export { renderChart, saveChart, linearTicks, logTicks, type ChartSpec, type AxisSpec, type SeriesSpec, type MarkerSpec } from './chart.js';
