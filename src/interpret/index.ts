/** Interpretation: what a model learned and got wrong (confusion, top losses, Grad-CAM, features) and training plots, drawn with Vega-Lite; display() for notebooks. */
export { plotLrFind, plotLrSchedule, plotHistory, historyChart, lrScheduleChart, lrFindChart, type PlotLrFindOptions, type PlotLrScheduleOptions, type PlotHistoryOptions } from './plots.js';
export { Figure, display, mimeBundle, imageMime, pngSize, type FigureOptions, type DisplayValue } from './display.js';
export { escapeHtml, renderReport, htmlTable, htmlImage, htmlPre, htmlText, htmlHeading, type Cell, type ReportData, type ReportSection } from './report-html.js';
export { renderChart, saveChart, linearTicks, logTicks, type ChartSpec, type AxisSpec, type SeriesSpec, type MarkerSpec } from './chart.js';
export { lineChartSpec, confusionMatrixSpec, streamingLineSpec, THEME, PALETTE, FONT, powerOfTen, type VegaLiteSpec, type ConfusionMatrixChart, type StreamingLineChart } from './specs.js';
export { renderSvg, renderPng, savePng } from './render.js';
export { Interpretation, type InterpretationOptions, type RankedItem, type ClassReport, type ItemLoss } from './interpretation.js';
export { fetchItems, itemNames } from './fetch.js';
export { gradCam, lastSpatialLayer, traceLayers, type GradCamOptions, type GradCamResult } from './gradcam.js';
export { filtersPicture, activations, activationsPicture, firstConvLayer, gradCamTiles, gradCamPicture } from './features.js';
export { confusionMatrixPicture, topLossesPicture, predictionGridPicture, mostPicture, classificationReport, RIGHT_COLOUR, WRONG_COLOUR, type MostKind } from './pictures.js';
export { colormap, colorize, overlayHeatmap, toRgb, type Picture } from './colormap.js';
