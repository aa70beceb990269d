/** ONNX export of Kestrel models (onnx-proto for the protobuf). */
export { exportOnnx, exportBundleOnnx, type OnnxExportOptions, type OnnxExport } from './export.js';
export { registerOnnxEmitter, ExportContext, type OnnxEmitter } from './context.js';
export { attr, OnnxGraphBuilder, type OnnxValue, type OnnxAttribute, type OnnxNode, type OnnxInitializer } from './builder.js';
