/** Encoding a built graph as an ONNX ModelProto with onnx-proto (protobufjs code generated from onnx.proto). */
import onnxProto from 'onnx-proto';
import type { OnnxAttribute, OnnxGraphBuilder, OnnxValue } from './builder.js';

const { onnx } = onnxProto;

/** What goes around the graph: its inputs and outputs, opset, metadata. */
export interface ModelDescription {
  name: string;
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  opset: number;
  producerVersion: string;
  metadata: Record<string, string>;
  docString?: string;
}

// NOTE: the IR version that goes with each opset (onnx/helper.py's VERSION_TABLE): opset 17 is IR 8.
const IR_FOR_OPSET: Record<number, number> = { 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8 };

function attribute(name: string, a: OnnxAttribute): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case 'int': return { name, type: T.INT, i: a.value };
    case 'ints': return { name, type: T.INTS, ints: a.value };
    case 'float': return { name, type: T.FLOAT, f: a.value };
    case 'floats': return { name, type: T.FLOATS, floats: a.value };
    case 'string': return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
  }
}

function valueInfo(v: OnnxValue): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: v.shape.map((d) => (d === null ? { dimParam: 'batch' } : { dimValue: d })) } } },
  };
}

/** The ModelProto bytes of `builder`'s graph. */
export function encodeModel(builder: OnnxGraphBuilder, description: ModelDescription): Uint8Array {
  const ir = IR_FOR_OPSET[description.opset];
  if (ir === undefined) throw new Error(`ONNX export: opset ${description.opset} is not supported (use 13-18)`);
  const graph: onnxProto.onnx.IGraphProto = {
    name: description.name,
    node: builder.nodes.map((n) => ({
      name: n.name, opType: n.opType, input: n.inputs, output: n.outputs,
      attribute: Object.entries(n.attributes).map(([k, a]) => attribute(k, a)),
    })),
    initializer: [...builder.initializers.values()].map((t) => ({
      name: t.name, dims: t.dims,
      dataType: t.data instanceof Float32Array ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64,
      // NOTE: raw little-endian bytes (what x86 and ARM hold in memory), the compact form onnx writes too.
      rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
    })),
    input: description.inputs.map(valueInfo),
    output: description.outputs.map(valueInfo),
  };
  const model = onnx.ModelProto.create({
    irVersion: ir, producerName: 'kestrel', producerVersion: description.producerVersion, modelVersion: 1,
    docString: description.docString ?? '', graph, opsetImport: [{ domain: '', version: description.opset }],
    metadataProps: Object.entries(description.metadata).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}
