// Kestrel's Node-API addon: a thin, handle-based binding over libtorch.
// Tensors live in a slot table and JS holds integer handles. Every ATen operator is
// reachable through one generic entry point (`call`) that boxes JS values into IValues
// by the operator's schema and calls it through PyTorch's dispatcher (autograd included).
// All design lives in TypeScript; this file only moves values across the boundary.
#include <napi.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "allocator.h"
#include "handles.h"

namespace kestrel {
CachingCpuAllocator* CachingCpuAllocator::instance = nullptr;
}

namespace {

std::vector<at::Tensor> slots;
std::vector<int32_t> freeSlots;
int64_t liveCount = 0;
std::vector<c10::OperatorHandle> operators;

// ---- handles ---------------------------------------------------------------------

int32_t put(at::Tensor tensor) {
  int32_t id;
  if (!freeSlots.empty()) {
    id = freeSlots.back();
    freeSlots.pop_back();
    slots[id] = std::move(tensor);
  } else {
    id = static_cast<int32_t>(slots.size());
    slots.push_back(std::move(tensor));
  }
  ++liveCount;
  return id;
}

const at::Tensor& get(const Napi::Value& value) {
  if (!value.IsNumber()) throw std::invalid_argument("expected a tensor handle");
  const int64_t id = value.As<Napi::Number>().Int64Value();
  if (id < 0 || id >= static_cast<int64_t>(slots.size()) || !slots[id].defined())
    throw std::invalid_argument("tensor used after dispose (handle " + std::to_string(id) + ")");
  return slots[id];
}

// ---- IValue boxing by schema type ------------------------------------------------

c10::IValue toIValue(const Napi::Value& value, const c10::TypePtr& type);

c10::IValue toListIValue(const Napi::Array& array, const c10::TypePtr& element) {
  const uint32_t n = array.Length();
  switch (element->kind()) {
    case c10::TypeKind::TensorType: {
      c10::List<at::Tensor> list;
      for (uint32_t i = 0; i < n; ++i) list.push_back(get(array.Get(i)));
      return list;
    }
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType: {
      c10::List<int64_t> list;
      for (uint32_t i = 0; i < n; ++i) list.push_back(array.Get(i).As<Napi::Number>().Int64Value());
      return list;
    }
    case c10::TypeKind::FloatType: {
      c10::List<double> list;
      for (uint32_t i = 0; i < n; ++i) list.push_back(array.Get(i).As<Napi::Number>().DoubleValue());
      return list;
    }
    case c10::TypeKind::BoolType: {
      c10::List<bool> list;
      for (uint32_t i = 0; i < n; ++i) list.push_back(array.Get(i).ToBoolean().Value());
      return list;
    }
    case c10::TypeKind::OptionalType: {
      c10::List<c10::optional<at::Tensor>> list;
      for (uint32_t i = 0; i < n; ++i) {
        Napi::Value item = array.Get(i);
        if (item.IsNull() || item.IsUndefined()) list.push_back(c10::nullopt);
        else list.push_back(get(item));
      }
      return list;
    }
    default:
      throw std::invalid_argument("unsupported list element type " + element->str());
  }
}

c10::IValue toIValue(const Napi::Value& value, const c10::TypePtr& type) {
  switch (type->kind()) {
    case c10::TypeKind::OptionalType:
      if (value.IsNull() || value.IsUndefined()) return c10::IValue();
      return toIValue(value, type->castRaw<c10::OptionalType>()->getElementType());
    case c10::TypeKind::TensorType:
      return get(value);
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType:
      if (value.IsBoolean()) return static_cast<int64_t>(value.As<Napi::Boolean>().Value());
      return value.As<Napi::Number>().Int64Value();
    case c10::TypeKind::FloatType:
      return value.As<Napi::Number>().DoubleValue();
    case c10::TypeKind::BoolType:
      return value.ToBoolean().Value();
    case c10::TypeKind::StringType:
      return value.As<Napi::String>().Utf8Value();
    case c10::TypeKind::DeviceObjType:
      return c10::Device(value.As<Napi::String>().Utf8Value());
    case c10::TypeKind::NumberType: {
      // NOTE: JS has one number type; integral values box as int Scalars so integer
      // tensors keep their dtype, others as double (PyTorch's wrapped-number promotion).
      if (value.IsBoolean()) return value.As<Napi::Boolean>().Value();
      const double d = value.As<Napi::Number>().DoubleValue();
      const double rounded = static_cast<double>(static_cast<int64_t>(d));
      if (rounded == d && std::abs(d) < 9.0e15) return static_cast<int64_t>(d);
      return d;
    }
    case c10::TypeKind::ListType: {
      if (!value.IsArray()) throw std::invalid_argument("expected an array for " + type->str());
      return toListIValue(value.As<Napi::Array>(), type->castRaw<c10::ListType>()->getElementType());
    }
    default:
      throw std::invalid_argument("unsupported argument type " + type->str());
  }
}

Napi::Value fromIValue(Napi::Env env, const c10::IValue& value) {
  if (value.isTensor()) {
    const at::Tensor& tensor = value.toTensor();
    if (!tensor.defined()) return env.Null();
    return Napi::Number::New(env, put(tensor));
  }
  if (value.isTensorList()) {
    auto list = value.toTensorList();
    Napi::Array array = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) array.Set(i, fromIValue(env, c10::IValue(list.get(i))));
    return array;
  }
  if (value.isTuple()) {
    const auto& elements = value.toTupleRef().elements();
    Napi::Array array = Napi::Array::New(env, elements.size());
    for (size_t i = 0; i < elements.size(); ++i) array.Set(i, fromIValue(env, elements[i]));
    return array;
  }
  if (value.isList()) {
    auto list = value.toListRef();
    Napi::Array array = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) array.Set(i, fromIValue(env, list[i]));
    return array;
  }
  if (value.isNone()) return env.Null();
  if (value.isInt()) return Napi::Number::New(env, static_cast<double>(value.toInt()));
  if (value.isDouble()) return Napi::Number::New(env, value.toDouble());
  if (value.isBool()) return Napi::Boolean::New(env, value.toBool());
  if (value.isScalar()) return Napi::Number::New(env, value.toScalar().toDouble());
  if (value.isString()) return Napi::String::New(env, value.toStringRef());
  throw std::invalid_argument("unsupported return type " + value.tagKind());
}


// ---- operators ------------------------------------------------------------------

// findOp(name, overload) -> operator id; throws if ATen has no such operator.
ENTRY(findOp) {
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  const std::string overload = info[1].As<Napi::String>().Utf8Value();
  auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
  if (!handle) throw std::invalid_argument("libtorch has no operator " + name + (overload.empty() ? "" : "." + overload));
  operators.push_back(*handle);
  return Napi::Number::New(info.Env(), static_cast<double>(operators.size() - 1));
} END

// schema(opId) -> the operator's schema text, for error messages and docs.
ENTRY(schema) {
  const auto& op = operators.at(info[0].As<Napi::Number>().Uint32Value());
  std::ostringstream text;
  text << op.schema();
  return Napi::String::New(info.Env(), text.str());
} END

// call(opId, args[]) -> handle | array | number | null.
ENTRY(call) {
  const auto& op = operators.at(info[0].As<Napi::Number>().Uint32Value());
  const Napi::Array args = info[1].As<Napi::Array>();
  const auto& arguments = op.schema().arguments();
  if (args.Length() > arguments.size())
    throw std::invalid_argument(op.schema().name() + " takes " + std::to_string(arguments.size()) + " arguments");
  torch::jit::Stack stack;
  stack.reserve(arguments.size());
  for (size_t i = 0; i < arguments.size(); ++i) {
    if (i < args.Length()) {
      try {
        stack.push_back(toIValue(args.Get(i), arguments[i].type()));
      } catch (const Napi::Error&) {
        throw std::invalid_argument(op.schema().name() + ": argument '" + arguments[i].name() + "' must be " + arguments[i].type()->str());
      }
    } else if (arguments[i].default_value()) {
      stack.push_back(*arguments[i].default_value());
    } else {
      throw std::invalid_argument(op.schema().name() + ": missing argument '" + arguments[i].name() + "'");
    }
  }
  op.callBoxed(&stack);
  if (stack.size() == 1) return fromIValue(info.Env(), stack[0]);
  Napi::Array out = Napi::Array::New(info.Env(), stack.size());
  for (size_t i = 0; i < stack.size(); ++i) out.Set(i, fromIValue(info.Env(), stack[i]));
  return out;
} END

// ---- tensors <-> typed arrays ----------------------------------------------------

// fromBuffer(typedArray, shape[], dtypeCode) -> handle (copies).
ENTRY(fromBuffer) {
  Napi::TypedArray array = info[0].As<Napi::TypedArray>();
  Napi::Array shapeArray = info[1].As<Napi::Array>();
  std::vector<int64_t> shape(shapeArray.Length());
  for (uint32_t i = 0; i < shapeArray.Length(); ++i) shape[i] = shapeArray.Get(i).As<Napi::Number>().Int64Value();
  const auto dtype = static_cast<at::ScalarType>(info[2].As<Napi::Number>().Int32Value());
  at::Tensor tensor = at::empty(shape, at::TensorOptions().dtype(dtype));
  const size_t bytes = tensor.nbytes();
  if (bytes != array.ByteLength())
    throw std::invalid_argument("data has " + std::to_string(array.ByteLength()) + " bytes but shape needs " + std::to_string(bytes));
  uint8_t* source = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  if (bytes > 0) std::memcpy(tensor.data_ptr(), source, bytes);
  return Napi::Number::New(info.Env(), put(tensor));
} END

// toBuffer(handle) -> ArrayBuffer holding the contiguous CPU data.
ENTRY(toBuffer) {
  at::Tensor tensor = get(info[0]).detach().to(at::kCPU).contiguous();
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(info.Env(), tensor.nbytes());
  if (tensor.nbytes() > 0) std::memcpy(buffer.Data(), tensor.data_ptr(), tensor.nbytes());
  return buffer;
} END

// describe(handle) -> [dtypeCode, device, requiresGrad, ...shape].
ENTRY(describe) {
  const at::Tensor& tensor = get(info[0]);
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env, 3 + tensor.dim());
  out.Set(0u, Napi::Number::New(env, static_cast<int>(tensor.scalar_type())));
  out.Set(1u, Napi::String::New(env, tensor.device().str()));
  out.Set(2u, Napi::Boolean::New(env, tensor.requires_grad()));
  for (int64_t i = 0; i < tensor.dim(); ++i) out.Set(3 + i, Napi::Number::New(env, static_cast<double>(tensor.size(i))));
  return out;
} END

ENTRY(item) { return Napi::Number::New(info.Env(), get(info[0]).item<double>()); } END

ENTRY(dispose) {
  const at::Tensor& tensor = get(info[0]);
  const int32_t id = info[0].As<Napi::Number>().Int32Value();
  (void)tensor;
  slots[id] = at::Tensor();
  freeSlots.push_back(id);
  --liveCount;
  return info.Env().Undefined();
} END

// version(handle) -> the tensor's version counter (bumped by every in-place change), for caches of derived tensors.
ENTRY(version) { return Napi::Number::New(info.Env(), static_cast<double>(get(info[0])._version())); } END

ENTRY(isLive) {
  const int64_t id = info[0].As<Napi::Number>().Int64Value();
  return Napi::Boolean::New(info.Env(), id >= 0 && id < static_cast<int64_t>(slots.size()) && slots[id].defined());
} END

// ---- autograd ------------------------------------------------------------------

ENTRY(setRequiresGrad) {
  at::Tensor tensor = get(info[0]);
  tensor.set_requires_grad(info[1].ToBoolean().Value());
  return info.Env().Undefined();
} END

ENTRY(grad) {
  const at::Tensor& grad = get(info[0]).grad();
  if (!grad.defined()) return info.Env().Null();
  return Napi::Number::New(info.Env(), put(grad));
} END

// setGrad(handle, gradHandle | null): null clears the gradient (zero_grad(set_to_none)).
ENTRY(setGrad) {
  at::Tensor tensor = get(info[0]);
  tensor.mutable_grad() = info[1].IsNull() ? at::Tensor() : get(info[1]);
  return info.Env().Undefined();
} END

// backward(handle, gradHandle | null, retainGraph)
ENTRY(backward) {
  const at::Tensor& tensor = get(info[0]);
  std::vector<at::Tensor> grads;
  if (!info[1].IsNull() && !info[1].IsUndefined()) grads.push_back(get(info[1]));
  torch::autograd::backward({tensor}, grads, info[2].ToBoolean().Value());
  return info.Env().Undefined();
} END

ENTRY(setGradEnabled) {
  const bool previous = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(info[0].ToBoolean().Value());
  return Napi::Boolean::New(info.Env(), previous);
} END

// inferenceMode(enter) -> depth. Enter pushes a c10::InferenceMode guard, exit pops the newest;
// TypeScript pairs them in try/finally within one synchronous call, so they nest like scopes.
std::vector<std::unique_ptr<c10::InferenceMode>> inferenceGuards;

ENTRY(inferenceMode) {
  if (info[0].ToBoolean().Value()) {
    inferenceGuards.push_back(std::make_unique<c10::InferenceMode>(true));
  } else {
    if (inferenceGuards.empty()) throw std::invalid_argument("inferenceMode: exit without enter");
    inferenceGuards.pop_back();
  }
  return Napi::Number::New(info.Env(), static_cast<double>(inferenceGuards.size()));
} END

// ---- autocast (mixed precision) --------------------------------------------------

// setAutocast(device 'cpu' | 'cuda', enabled, dtypeCode) -> [previousEnabled, previousDtypeCode].
ENTRY(setAutocast) {
  const std::string device = info[0].As<Napi::String>().Utf8Value();
  const bool enabled = info[1].ToBoolean().Value();
  const auto dtype = static_cast<at::ScalarType>(info[2].As<Napi::Number>().Int32Value());
  bool wasEnabled;
  at::ScalarType wasDtype;
  if (device == "cpu") {
    wasEnabled = at::autocast::is_cpu_enabled();
    wasDtype = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  } else if (device == "cuda") {
    wasEnabled = at::autocast::is_enabled();
    wasDtype = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    throw std::invalid_argument("autocast: unknown device type '" + device + "' (cpu or cuda)");
  }
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, Napi::Boolean::New(info.Env(), wasEnabled));
  out.Set(1u, Napi::Number::New(info.Env(), static_cast<int>(wasDtype)));
  return out;
} END

// clearAutocastCache(): drops the cached low-precision copies of weights (torch.autocast's exit does this).
ENTRY(clearAutocastCache) {
  at::autocast::clear_cache();
  return info.Env().Undefined();
} END

// ---- runtime -------------------------------------------------------------------

ENTRY(setNumThreads) {
  at::set_num_threads(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
} END

ENTRY(manualSeed) {
  const uint64_t seed = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
  {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_current_seed(seed);
  }
  // NOTE: like torch.manual_seed, also seeds every GPU's generator (dropout on cuda).
  if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
  return info.Env().Undefined();
} END

// synchronize(): waits for queued GPU work (a no-op without CUDA), for timing and benchmarks.
ENTRY(synchronize) {
  if (torch::cuda::is_available()) torch::cuda::synchronize();
  return info.Env().Undefined();
} END

ENTRY(getRngState) {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return Napi::Number::New(info.Env(), put(generator.get_state()));
} END

ENTRY(setRngState) {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(get(info[0]));
  return info.Env().Undefined();
} END

ENTRY(memoryStats) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("liveTensors", Napi::Number::New(env, static_cast<double>(liveCount)));
  auto* allocator = kestrel::CachingCpuAllocator::instance;
  out.Set("inUseBytes", Napi::Number::New(env, allocator ? static_cast<double>(allocator->inUseBytes()) : 0));
  out.Set("cachedBytes", Napi::Number::New(env, allocator ? static_cast<double>(allocator->cachedBytes()) : 0));
  out.Set("peakInUseBytes", Napi::Number::New(env, allocator ? static_cast<double>(allocator->peakInUseBytes()) : 0));
  return out;
} END

ENTRY(emptyCache) {
  if (kestrel::CachingCpuAllocator::instance) kestrel::CachingCpuAllocator::instance->emptyCache();
  return info.Env().Undefined();
} END

ENTRY(runtimeInfo) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
  out.Set("threads", Napi::Number::New(env, at::get_num_threads()));
  out.Set("cudaAvailable", Napi::Boolean::New(env, torch::cuda::is_available()));
  out.Set("cudaDevices", Napi::Number::New(env, static_cast<double>(torch::cuda::device_count())));
  out.Set("mkldnn", Napi::Boolean::New(env, at::hasMKLDNN()));
  out.Set("cachingAllocator", Napi::Boolean::New(env, kestrel::CachingCpuAllocator::instance != nullptr));
  out.Set("config", Napi::String::New(env, at::show_config()));
  out.Set("parallel", Napi::String::New(env, at::get_parallel_info()));
  return out;
} END

// useCachingAllocator(limitBytes): installs the caching CPU allocator once.
ENTRY(useCachingAllocator) {
  const double limit = info[0].As<Napi::Number>().DoubleValue();
  if (!kestrel::CachingCpuAllocator::instance) {
    kestrel::CachingCpuAllocator::instance = new kestrel::CachingCpuAllocator(static_cast<size_t>(limit));
    c10::SetCPUAllocator(kestrel::CachingCpuAllocator::instance, /*priority=*/100);
  } else {
    kestrel::CachingCpuAllocator::instance->setLimit(static_cast<size_t>(limit));
  }
  return info.Env().Undefined();
} END

}  // namespace

namespace kestrel {
const at::Tensor& tensorArg(const Napi::Value& value) { return get(value); }
int32_t newHandle(at::Tensor tensor) { return put(std::move(tensor)); }
}  // namespace kestrel

Napi::Object Init(Napi::Env env, Napi::Object exports) {
#define EXPORT(name) exports.Set(#name, Napi::Function::New(env, name, #name))
  EXPORT(findOp); EXPORT(schema); EXPORT(call);
  EXPORT(fromBuffer); EXPORT(toBuffer); EXPORT(describe); EXPORT(item); EXPORT(dispose); EXPORT(isLive); EXPORT(version);
  EXPORT(setRequiresGrad); EXPORT(grad); EXPORT(setGrad); EXPORT(backward); EXPORT(setGradEnabled); EXPORT(inferenceMode);
  EXPORT(setAutocast); EXPORT(clearAutocastCache);
  EXPORT(setNumThreads); EXPORT(manualSeed); EXPORT(getRngState); EXPORT(setRngState);
  EXPORT(memoryStats); EXPORT(emptyCache); EXPORT(runtimeInfo); EXPORT(useCachingAllocator); EXPORT(synchronize);
#undef EXPORT
#ifdef KESTREL_DISTRIBUTED
  exports.Set("dist", kestrel::distributedExports(env));
#endif
  return exports;
}

NODE_API_MODULE(kestrel, Init)
