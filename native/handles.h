// The tensor handle table of native/kestrel.cc, shared with the addon's other source files (distributed.cc).
#pragma once
#include <napi.h>

#include <ATen/ATen.h>

namespace kestrel {

// The tensor behind a JS handle; throws std::invalid_argument for a bad or disposed handle.
const at::Tensor& tensorArg(const Napi::Value& value);

// Stores a tensor and returns its new handle.
int32_t newHandle(at::Tensor tensor);

// Runs an entry point's body, turning C++ errors (libtorch's included) into JS Errors with their message.
template <typename Fn>
Napi::Value guarded(const Napi::CallbackInfo& info, Fn fn) {
  try {
    return fn();
  } catch (const c10::Error& error) {
    throw Napi::Error::New(info.Env(), error.what_without_backtrace());
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& error) {
    throw Napi::Error::New(info.Env(), error.what());
  }
}

#ifdef KESTREL_DISTRIBUTED
// The `dist` object of exports (c10d process groups), defined in distributed.cc.
Napi::Object distributedExports(Napi::Env env);
#endif

}  // namespace kestrel

// An addon entry point: `ENTRY(name) { ...body returning a Napi::Value... } END`.
#define ENTRY(name) Napi::Value name(const Napi::CallbackInfo& info) { return kestrel::guarded(info, [&]() -> Napi::Value
#define END ); }
