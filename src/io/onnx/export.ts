/** exportOnnx: an eval-mode ONNX graph (opset 17, dynamic batch, batch norm folded) of any Kestrel model. */
import type { Module } from '../../nn/index.js';
import { kestrelVersion, loadModel } from '../bundle.js';
import type { ModelManifest } from '../manifest.js';
import { OnnxGraphBuilder, type OnnxValue } from './builder.js';
import { ExportContext } from './context.js';
import { encodeModel } from './encode.js';
import { foldBatchNorms } from './fold.js';
import './layers.js';
import './models.js';
import './keras.js';
import './transfer.js';

/** Options of exportOnnx. */
export interface OnnxExportOptions {
  /** One sample's shape without the batch dim, e.g. [3, 224, 224]. */
  inputShape: number[];
  /** Class names, stored in metadata_props (`classes`, a JSON array). */
  classes?: string[];
  /** Input normalisation, stored in metadata_props (`normalize`, JSON `{mean, std}` on the 0-1 scale). */
  normalize?: { mean: number[]; std: number[] } | null;
  /** Any other metadata_props entries. */
  metadata?: Record<string, string>;
  /** Fold batch norm into the convolution before it (default true). */
  foldBatchNorm?: boolean;
  /** Opset (default 17). */
  opset?: number;
  /** Graph name (default the model's class). */
  name?: string;
}

/** What exportOnnx produced. */
export interface OnnxExport {
  /** The ModelProto bytes. */
  bytes: Uint8Array;
  /** Nodes in the graph (after folding). */
  nodes: number;
  /** Batch norms folded into convolutions. */
  folded: number;
}

/**
 * The model as ONNX: input `input` [batch, ...inputShape], output `logits` [batch, classes]. Eval-mode
 * semantics (dropout off, batch norm from running statistics); an unknown layer is an error naming it.
 */
export function exportOnnx(model: Module, options: OnnxExportOptions): OnnxExport {
  if (!Array.isArray(options.inputShape) || options.inputShape.length === 0 || options.inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`exportOnnx: inputShape must be positive sizes without the batch dim, e.g. [3, 224, 224]; got ${JSON.stringify(options.inputShape)}`);
  }
  const builder = new OnnxGraphBuilder();
  const input: OnnxValue = { name: builder.reserve('input'), shape: [null, ...options.inputShape] };
  const result = new ExportContext(builder, '').emit(model, [input], '');
  // NOTE: the graph output is always called `logits`: an Identity renames whatever the last node wrote.
  const output: OnnxValue = { name: builder.reserve('logits'), shape: result.shape };
  builder.nodes.push({ opType: 'Identity', name: builder.unique('output'), inputs: [result.name], outputs: [output.name], attributes: {} });
  const folded = options.foldBatchNorm ?? true ? foldBatchNorms(builder, new Set([output.name])) : 0;
  const metadata: Record<string, string> = { ...(options.metadata ?? {}) };
  if (options.classes) metadata.classes = JSON.stringify(options.classes);
  if (options.normalize !== undefined) metadata.normalize = JSON.stringify(options.normalize);
  metadata.input_shape = JSON.stringify(options.inputShape);
  metadata.output = 'logits (apply softmax for probabilities)';
  const bytes = encodeModel(builder, {
    name: options.name ?? model.constructor.name, inputs: [input], outputs: [output], opset: options.opset ?? 17,
    producerVersion: kestrelVersion(), metadata,
  });
  return { bytes, nodes: builder.nodes.length, folded };
}

/** Exports a saved bundle, with its classes, normalisation and preprocessing in metadata_props. */
export function exportBundleOnnx(dir: string): OnnxExport & { manifest: ModelManifest } {
  const loaded = loadModel(dir);
  try {
    const m = loaded.manifest;
    const exported = exportOnnx(loaded.model, {
      inputShape: m.inputShape, classes: m.classes, normalize: m.normalize, name: m.architecture.name,
      metadata: { architecture: m.architecture.name, preprocess: JSON.stringify(m.preprocess ?? { resize: 'crop', cropFraction: 1 }) },
    });
    return { ...exported, manifest: m };
  } finally {
    loaded.dispose();
  }
}
