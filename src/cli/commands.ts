/** The table of kestrel subcommands. */
import type { CommandSpec } from './args.js';
import { datasetsSpec, runDatasets } from './datasets.js';
import { evaluateSpec, runEvaluate } from './evaluate.js';
import { exportSpec, runExport } from './export.js';
import { importSpec, runImport } from './import.js';
import { infoSpec, runInfo } from './info.js';
import { lrFindSpec, runLrFind } from './lr-find.js';
import { predictSpec, runPredict } from './predict.js';
import { runServe, serveSpec } from './serve.js';
import { runShow, showSpec } from './show.js';
import { runTrain, trainSpec } from './train.js';
import { interpretSpec, runInterpret } from './interpret.js';
import { gradcamSpec, runGradcam } from './gradcam.js';
import { reportSpec, runReport } from './report.js';
import { dashboardSpec, runDashboard } from './dashboard.js';

/** A subcommand: its spec (for help) and its runner. */
export interface Command {
  spec: CommandSpec;
  run(argv: string[]): Promise<number>;
}

/** Subcommands by name. */
export const commands: Record<string, Command> = {
  train: { spec: trainSpec, run: runTrain },
  evaluate: { spec: evaluateSpec, run: runEvaluate },
  export: { spec: exportSpec, run: runExport },
  'lr-find': { spec: lrFindSpec, run: runLrFind },
  predict: { spec: predictSpec, run: runPredict },
  datasets: { spec: datasetsSpec, run: runDatasets },
  serve: { spec: serveSpec, run: runServe },
  show: { spec: showSpec, run: runShow },
  info: { spec: infoSpec, run: runInfo },
  import: { spec: importSpec, run: runImport },
  interpret: { spec: interpretSpec, run: runInterpret },
  gradcam: { spec: gradcamSpec, run: runGradcam },
  report: { spec: reportSpec, run: runReport },
  dashboard: { spec: dashboardSpec, run: runDashboard },
};
