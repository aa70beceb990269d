/** The export walk: a table from module class to an emitter, and the context emitters work in. */
import { type Tensor, tidy } from '../../tensor/index.js';
import { type Module, type SymbolicShape, SymbolicTensor, inferOutput } from '../../nn/index.js';
import { type OnnxGraphBuilder, type OnnxValue } from './builder.js';

/** Writes the ONNX nodes of one module call and returns its output. */
export type OnnxEmitter<M extends Module = Module> = (module: M, inputs: OnnxValue[], ctx: ExportContext) => OnnxValue;

type ModuleClass<M extends Module> = abstract new (...args: never[]) => M;

const emitters = new Map<ModuleClass<Module>, OnnxEmitter>();

/** Teaches the exporter a module class (Kestrel registers its own; register yours the same way). */
export function registerOnnxEmitter<M extends Module>(cls: ModuleClass<M>, emitter: OnnxEmitter<M>): void {
  emitters.set(cls as ModuleClass<Module>, emitter as OnnxEmitter);
}

/**
 * The emitter for `module`: its class's, else the nearest base class's, but only while no class in between
 * defines its own forward (a subclass that computes something else must not export as its base).
 */
function emitterOf(module: Module): OnnxEmitter | undefined {
  for (let proto = Object.getPrototypeOf(module) as { constructor: ModuleClass<Module> } | null; proto; proto = Object.getPrototypeOf(proto) as typeof proto) {
    const found = emitters.get(proto.constructor);
    if (found) return found;
    if (Object.hasOwn(proto, 'forward')) return undefined;
  }
  return undefined;
}

/** What an emitter can use: the graph builder, the layer's dotted name, recursion into children, shapes. */
export class ExportContext {
  /** A context writing into `builder`, for the layer called `path` (empty for the model). */
  constructor(readonly builder: OnnxGraphBuilder, readonly path: string) {}

  /** A name for a node or value of this layer (`layer1.0.conv1`, or `suffix` under it). */
  label(suffix?: string): string {
    return [this.path, suffix].filter(Boolean).join('.') || 'model';
  }

  /** Emits `child` (named `name` under this layer) on `inputs`. */
  emit(child: Module, inputs: OnnxValue[], name: string): OnnxValue {
    const path = [this.path, name].filter(Boolean).join('.');
    const emitter = emitterOf(child);
    if (!emitter) {
      throw new Error(`ONNX export: layer '${path || 'model'}' (${child.constructor.name}) has no ONNX emitter; Kestrel cannot export it (registerOnnxEmitter teaches it)`);
    }
    return emitter(child, inputs, new ExportContext(this.builder, path));
  }

  /** Emits a chain of named children, each on the previous one's output. */
  chain(children: [string, Module][], input: OnnxValue): OnnxValue {
    return children.reduce((x, [name, child]) => this.emit(child, [x], name), input);
  }

  /**
   * A parameter or buffer as a float32 initializer (contiguous NCHW order), named after the layer; a tensor
   * met again (a shared layer's second call) reuses its initializer.
   */
  weight(tensor: Tensor, name: string): string {
    const known = this.builder.tensorNames.get(tensor);
    if (known) return known;
    const data = tidy(() => tensor.float().contiguous().toArray() as Float32Array);
    const id = this.builder.constant(this.label(name), tensor.shape, data);
    this.builder.tensorNames.set(tensor, id);
    return id;
  }

  /** The output shape of `module` on inputs of these shapes (run on stand-in tensors, as graph models do). */
  outputShape(module: Module, inputs: OnnxValue[]): SymbolicShape {
    return inferOutput(module, inputs.map((v) => new SymbolicTensor(v.shape.slice(), 'float32', null))).shape;
  }

  /** One ONNX node named after this layer; returns its output with `shape`. */
  op(opType: string, inputs: string[], shape: SymbolicShape, attributes: Parameters<OnnxGraphBuilder['op']>[2] = {}, suffix?: string): OnnxValue {
    const [name] = this.builder.op(opType, inputs, attributes, this.label(suffix));
    return { name, shape: shape.slice() };
  }
}
