// The tensor handle table of native/kestrel.cc, shared with the addon's other source files (distributed.cc).
#pragma once
#include <napi.h>

#include <ATen/ATen.h>

namespace kestrel {

// The tensor behind a JS handle; throws std::invalid_argument for a bad or disposed handle.
const at::Tensor& tensorArg(const Napi::Value& value);

// Stores a tensor and returns its new handle.
int32_t newHandle(at::Tensor tensor);

#ifdef KESTREL_DISTRIBUTED
// The `dist` object of exports (c10d process groups), defined in distributed.cc.
Napi::Object distributedExports(Napi::Env env);
#endif

}  // namespace kestrel
