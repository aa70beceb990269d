/** `kestrel info RUN_DIR`: what a saved model bundle holds, without running it. */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { MODEL_WEIGHTS_FILE, loadModel } from '../io/index.js';
import { formatBytes } from '../data/index.js';

/** Lines describing the bundle in `dir` (loads it to count parameters and check the weights). */
export function describeBundle(dir: string): string[] {
  const loaded = loadModel(dir);
  try {
    const m = loaded.manifest;
    const prep = loaded.preprocessing.transforms;
    const resize = m.preprocess?.resize ?? 'crop';
    const classes = m.classes.length <= 12 ? m.classes.join(', ') : `${m.classes.slice(0, 10).join(', ')}, ... (${m.classes.length - 10} more)`;
    const lines = [
      `bundle       ${dir} (format ${m.format} v${m.version}, written by Kestrel ${m.kestrelVersion} at ${m.createdAt})`,
      `architecture ${m.architecture.name} ${describeOptions(m.architecture.options)}`,
      `parameters   ${loaded.model.numParameters().toLocaleString('en-US')} (${formatBytes(statSync(join(dir, MODEL_WEIGHTS_FILE)).size)} of weights)`,
      `classes      ${m.classes.length}: ${classes}`,
      `input        ${m.inputShape.join('x')} (channels x height x width), resize '${resize}'${resize === 'crop' ? ` keeping ${prep.cropFraction ?? 1} of the centre` : ''}`,
      `normalize    ${m.normalize ? `mean [${m.normalize.mean.map((v) => v.toFixed(4)).join(', ')}], std [${m.normalize.std.map((v) => v.toFixed(4)).join(', ')}]` : 'none (pixels / 255)'}`,
    ];
    if (m.metrics) lines.push(`metrics      ${JSON.stringify(m.metrics)}`);
    return lines;
  } finally {
    loaded.dispose();
  }
}

/** Architecture options for people: a Keras topology as its layer count, long values cut. */
function describeOptions(options: Record<string, unknown>): string {
  const text = JSON.stringify(options, (key, value: unknown) => {
    if (key !== 'topology' || typeof value !== 'object' || value === null) return value;
    const layers = (value as { config?: { layers?: unknown[] } }).config?.layers;
    return `<Keras topology, ${Array.isArray(layers) ? layers.length : '?'} layers>`;
  });
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}
