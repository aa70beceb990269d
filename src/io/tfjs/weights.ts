/** Matches decoded TF.js weights to a built Keras graph by name and converts them to Kestrel's layouts. */
import type { Tensor } from '../../tensor/index.js';
import type { KerasGraph } from './graph.js';
import { kerasShapeOf, toKestrelLayout } from './layout.js';

const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/**
 * Manifest names by the `layer/weight` key they stand for: the name itself without TF's `:0`
 * suffix, and (as TF.js does) without the cell scope TF 2.2 inserts (`layer/cell/weight`).
 */
function indexNames(names: Iterable<string>): Map<string, string> {
  const index = new Map<string, string>();
  const fallback = new Map<string, string>();
  for (const name of names) {
    const key = name.replace(/:0$/, '');
    index.set(key, name);
    const tokens = key.split('/');
    if (tokens.length >= 3) fallback.set([...tokens.slice(0, -2), tokens[tokens.length - 1]].join('/'), name);
  }
  for (const [key, name] of fallback) if (!index.has(key)) index.set(key, name);
  return index;
}

/**
 * The Kestrel state dict (`<layer>.<param>` -> tensor in PyTorch layout) for `graph` from
 * decoded Keras weights (`<layer>/<weight>` -> tensor). Strict, like TF.js: a weight no layer
 * reads, a weight a layer needs but the manifest lacks, or a shape that does not fit is an
 * error listing every such name. Returns new tensors (the caller disposes them); state the Keras
 * file has no counterpart for (batch norm's num_batches_tracked) is taken from the model itself.
 */
export function kerasStateDict(graph: KerasGraph, weights: Map<string, Tensor>): Map<string, Tensor> {
  const index = indexNames(weights.keys());
  const own = graph.model.stateDict();
  const out = new Map<string, Tensor>();
  const used = new Set<string>();
  const problems: string[] = [];
  let needed = 0;
  try {
    for (const layer of graph.layers) {
      for (const binding of layer.weights) {
        needed++;
        const key = `${layer.kerasName}/${binding.keras}`;
        const target = `${layer.name}.${binding.param}`;
        const name = index.get(key);
        const param = own.get(target);
        if (param === undefined) throw new Error(`internal: layer '${layer.name}' (${layer.className}) has no parameter '${target}'`);
        if (name === undefined) {
          problems.push(`missing weight '${key}' for layer '${layer.kerasName}' (${layer.className})`);
          continue;
        }
        used.add(name);
        const value = weights.get(name) as Tensor;
        const expected = kerasShapeOf(param.shape, binding.conversion, binding.depthMultiplier);
        if (shapeText(value.shape) !== shapeText(expected)) {
          problems.push(`weight '${name}' has shape ${shapeText(value.shape)} but layer '${layer.kerasName}' (${layer.className}) needs ${shapeText(expected)}`);
          continue;
        }
        out.set(target, toKestrelLayout(value, binding.conversion));
      }
    }
    // NOTE: weights of layers cut away by the `outputs` option are expected to be left over.
    const removed = graph.removedLayers.map((layer) => `${layer}/`);
    const unused = [...weights.keys()].filter((name) => !used.has(name) && !removed.some((prefix) => name.startsWith(prefix)));
    for (const name of unused) problems.push(`weight '${name}' is not read by any layer`);
    if (problems.length > 0) {
      const shown = problems.slice(0, 12).join('\n  ') + (problems.length > 12 ? `\n  ... and ${problems.length - 12} more` : '');
      throw new Error(`the weights do not fit the topology (${needed} needed, ${weights.size} in the manifest):\n  ${shown}`);
    }
  } catch (error) {
    for (const t of out.values()) t.dispose();
    throw error;
  }
  for (const [name, t] of own) if (!out.has(name)) out.set(name, t.clone());
  return out;
}
