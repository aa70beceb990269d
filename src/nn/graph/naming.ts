/** Layer and input names of a graph model: explicit names checked, the rest named Keras-style. */
import type { Module } from '../module.js';
import { type SymbolicTensor, describeLayer, snakeCase } from './symbolic.js';

/**
 * Checks that explicit names are unique, then names unnamed layers `snake_case(Class)`, `_1`,
 * `_2`, ... and unnamed inputs `input`, `input_1`, ... in first-use order. Names are stored on
 * the layers and inputs, so a layer keeps its name in every model that shares it (subgraph()).
 */
export function assignNames(layers: readonly Module[], inputs: readonly SymbolicTensor[]): void {
  const owners = new Map<string, string>();
  const claim = (name: string, owner: string): void => {
    const other = owners.get(name);
    if (other !== undefined) throw new Error(`GraphModel: the name '${name}' is used twice (${other} and ${owner}); names in a model must be unique`);
    owners.set(name, owner);
  };
  for (const layer of layers) if (layer.name !== undefined) claim(layer.name, `layer ${describeLayer(layer)}`);
  // NOTE: an intermediate tensor used as an input (a model cut by subgraph()) is named by its layer.
  for (const t of inputs) if (t._name !== undefined || t.producer) claim(t.name, `input ${t.toString()}`);
  // NOTE: names are checked before any is stored, so a rejected model leaves its layers as they were.
  const fresh = (base: string): string => {
    let name = base;
    for (let k = 1; owners.has(name); k++) name = `${base}_${k}`;
    owners.set(name, name);
    return name;
  };
  for (const layer of layers) if (layer.name === undefined) layer._name = fresh(snakeCase(layer.constructor.name));
  for (const t of inputs) if (t._name === undefined && !t.producer) t._name = fresh('input');
}
