/** Interpretation: plots of training (lr finder, schedules, curves) as PNG files or Figures, and display() for notebooks. */
export { plotLrFind, plotLrSchedule, plotHistory, type PlotLrFindOptions, type PlotLrScheduleOptions, type PlotHistoryOptions } from './plots.js';
export { Figure, display, mimeBundle, imageMime, pngSize, type FigureOptions, type DisplayValue } from './display.js';
export { renderChart, saveChart, linearTicks, logTicks, type ChartSpec, type AxisSpec, type SeriesSpec, type MarkerSpec } from './chart.js';
