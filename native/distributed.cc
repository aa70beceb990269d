// c10d for Kestrel's data-parallel training: TCPStore rendezvous, ProcessGroupGloo (and ProcessGroupNCCL where the
// libtorch found has CUDA and nccl.h), collectives as Work handles waited on synchronously (with a timeout) or as
// Promises, and DDP's Reducer (bucketed gradient all-reduce that overlaps with backward).
// Compiled into the kestrel addon only when gloo's headers exist (KESTREL_DISTRIBUTED). Like kestrel.cc this file
// only moves values across the boundary; the protocol (init order, barriers, failure diagnosis) is in src/distributed/.
#include <napi.h>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#ifdef KESTREL_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "handles.h"

namespace {

using std::chrono::milliseconds;

// ---- id tables --------------------------------------------------------------------

template <typename T>
class Table {
 public:
  explicit Table(const char* kind) : kind_(kind) {}
  int32_t add(T item) {
    items_.emplace(next_, std::move(item));
    return next_++;
  }
  T& at(const Napi::Value& id) {
    auto found = items_.find(id.As<Napi::Number>().Int32Value());
    if (found == items_.end()) throw std::invalid_argument(std::string(kind_) + " used after it was released");
    return found->second;
  }
  T take(const Napi::Value& id) {
    T item = std::move(at(id));
    items_.erase(id.As<Napi::Number>().Int32Value());
    return item;
  }

 private:
  const char* kind_;
  std::unordered_map<int32_t, T> items_;
  int32_t next_ = 1;
};

// NOTE: the tables are never destroyed. At process exit a process group's destructor would wait for collectives
// stuck on a lost peer (up to the timeout); a failing rank must exit at once.
auto& stores = *new Table<c10::intrusive_ptr<c10d::Store>>("store");
auto& groups = *new Table<c10::intrusive_ptr<c10d::ProcessGroup>>("process group");
auto& works = *new Table<c10::intrusive_ptr<c10d::Work>>("collective");
auto& reducers = *new Table<std::shared_ptr<c10d::Reducer>>("reducer");
auto& heartbeats = *new Table<std::shared_ptr<std::atomic<bool>>>("heartbeat");

// ---- argument helpers -------------------------------------------------------------

std::string str(const Napi::Value& value) { return value.As<Napi::String>().Utf8Value(); }
int64_t integer(const Napi::Value& value) { return value.As<Napi::Number>().Int64Value(); }
milliseconds ms(const Napi::Value& value) { return milliseconds(integer(value)); }

std::vector<at::Tensor> tensorList(const Napi::Value& value) {
  const Napi::Array array = value.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) out.push_back(kestrel::tensorArg(array.Get(i)));
  return out;
}


// ---- blocking work on a libuv thread, settled as a Promise --------------------------

// Runs `run` off the main thread (rendezvous and group creation block until every rank arrives), then settles a
// Promise with `done(env)` on the main thread, or rejects it with the C++ error.
class Task : public Napi::AsyncWorker {
 public:
  Task(Napi::Env env, std::function<void()> run, std::function<Napi::Value(Napi::Env)> done)
      : Napi::AsyncWorker(env, "kestrel-distributed"), deferred_(Napi::Promise::Deferred::New(env)),
        run_(std::move(run)), done_(std::move(done)) {}

  static Napi::Value start(Napi::Env env, std::function<void()> run, std::function<Napi::Value(Napi::Env)> done) {
    auto* task = new Task(env, std::move(run), std::move(done));
    Napi::Promise promise = task->deferred_.Promise();
    task->Queue();  // NOTE: the worker deletes itself once settled.
    return promise;
  }

  void Execute() override {
    try {
      run_();
    } catch (const c10::Error& error) {
      SetError(error.what_without_backtrace());
    } catch (const std::exception& error) {
      SetError(error.what());
    }
  }
  void OnOK() override {
    try {
      deferred_.Resolve(done_(Env()));
    } catch (const Napi::Error& error) {
      deferred_.Reject(error.Value());
    }
  }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> run_;
  std::function<Napi::Value(Napi::Env)> done_;
};

// ---- stores -----------------------------------------------------------------------

// createStore(host, port, isServer, numWorkers (-1: none), timeoutMs, waitWorkers, multiTenant) -> Promise<[id, port]>.
ENTRY(createStore) {
  const std::string host = str(info[0]);
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(integer(info[1]));
  options.isServer = info[2].ToBoolean().Value();
  if (integer(info[3]) >= 0) options.numWorkers = static_cast<size_t>(integer(info[3]));
  options.timeout = ms(info[4]);
  options.waitWorkers = info[5].ToBoolean().Value();
  options.multiTenant = info[6].ToBoolean().Value();
  auto made = std::make_shared<c10::intrusive_ptr<c10d::TCPStore>>();
  return Task::start(info.Env(), [=]() { *made = c10::make_intrusive<c10d::TCPStore>(host, options); },
    [=](Napi::Env env) -> Napi::Value {
      Napi::Array out = Napi::Array::New(env, 2);
      out.Set(0u, Napi::Number::New(env, stores.add(*made)));
      out.Set(1u, Napi::Number::New(env, (*made)->getPort()));
      return out;
    });
} END

// prefixStore(storeId, prefix) -> id of a view whose keys are `prefix/key` (torch's PrefixStore).
ENTRY(prefixStore) {
  auto store = stores.at(info[0]);
  return Napi::Number::New(info.Env(), stores.add(c10::make_intrusive<c10d::PrefixStore>(str(info[1]), store)));
} END

// storeAdd(storeId, key, amount) -> the counter's new value (amount 0 reads it).
ENTRY(storeAdd) {
  return Napi::Number::New(info.Env(), static_cast<double>(stores.at(info[0])->add(str(info[1]), integer(info[2]))));
} END

ENTRY(storeSet) {
  const std::string value = str(info[2]);
  stores.at(info[0])->set(str(info[1]), std::vector<uint8_t>(value.begin(), value.end()));
  return info.Env().Undefined();
} END

// storeGet(storeId, key) -> string; waits for the key up to the store's timeout.
ENTRY(storeGet) {
  const std::vector<uint8_t> value = stores.at(info[0])->get(str(info[1]));
  return Napi::String::New(info.Env(), std::string(value.begin(), value.end()));
} END

// storeCheck(storeId, keys[]) -> whether every key exists (does not wait).
ENTRY(storeCheck) {
  const Napi::Array array = info[1].As<Napi::Array>();
  std::vector<std::string> keys;
  for (uint32_t i = 0; i < array.Length(); ++i) keys.push_back(str(array.Get(i)));
  return Napi::Boolean::New(info.Env(), stores.at(info[0])->check(keys));
} END

ENTRY(releaseStore) {
  stores.take(info[0]);
  return info.Env().Undefined();
} END

// ---- process groups -----------------------------------------------------------------

#ifdef USE_C10D_GLOO
std::shared_ptr<::gloo::transport::Device> glooDevice(const std::string& hostname, const std::string& interface) {
  if (!interface.empty()) return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
  if (!hostname.empty()) return c10d::ProcessGroupGloo::createDeviceForHostname(hostname);
  return c10d::ProcessGroupGloo::createDefaultDevice();
}
#endif

// createGroup(storeId, rank, size, backend, timeoutMs, glooHostname, glooInterface) -> Promise<id>. Blocks (off the
// main thread) until every rank has connected.
ENTRY(createGroup) {
  auto store = stores.at(info[0]);
  const int rank = static_cast<int>(integer(info[1]));
  const int size = static_cast<int>(integer(info[2]));
  const std::string backend = str(info[3]);
  const milliseconds timeout = ms(info[4]);
  const std::string hostname = str(info[5]);
  const std::string interface = str(info[6]);
  auto made = std::make_shared<c10::intrusive_ptr<c10d::ProcessGroup>>();
  std::function<void()> run;
  if (backend == "gloo") {
    run = [=]() {
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      options->devices.push_back(glooDevice(hostname, interface));
      options->threads = 2;  // NOTE: torch's default: two per device.
      *made = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);
    };
  } else if (backend == "nccl") {
#ifdef KESTREL_NCCL
    run = [=]() {
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      *made = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
    };
#else
    throw std::invalid_argument("this Kestrel addon was built without NCCL (it needs a CUDA libtorch, nccl.h and the CUDA headers at build time); use backend 'gloo'");
#endif
  } else {
    throw std::invalid_argument("unknown backend '" + backend + "' (gloo or nccl)");
  }
  return Task::start(info.Env(), run, [=](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, groups.add(*made)); });
} END

// setSequenceNumber(groupId) -> Promise: rank 0 publishes the group's collective sequence number, the others read it
// (what torch.distributed does after its init barrier; a Python rank waits for it).
ENTRY(setSequenceNumber) {
  auto group = groups.at(info[0]);
  return Task::start(info.Env(), [=]() { group->setSequenceNumberForGroup(); }, [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
} END

// releaseGroup(groupId) -> Promise: drops the group off the main thread (its destructor drains queued work).
ENTRY(releaseGroup) {
  auto group = std::make_shared<c10::intrusive_ptr<c10d::ProcessGroup>>(groups.take(info[0]));
  return Task::start(info.Env(), [=]() { group->reset(); }, [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
} END

// ---- collectives: each returns a work id, settled by wait() or waitAsync() ------------

// allReduce(groupId, handle, reduceOpCode) -> work id (c10d::ReduceOp codes: 0 sum, 1 avg, 2 product, 3 min, 4 max, ...).
ENTRY(allReduce) {
  std::vector<at::Tensor> tensors{kestrel::tensorArg(info[1])};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp(static_cast<c10d::ReduceOp::RedOpType>(integer(info[2])));
  return Napi::Number::New(info.Env(), works.add(groups.at(info[0])->allreduce(tensors, options)));
} END

// broadcast(groupId, handle, rootRank) -> work id.
ENTRY(broadcast) {
  std::vector<at::Tensor> tensors{kestrel::tensorArg(info[1])};
  c10d::BroadcastOptions options;
  options.rootRank = static_cast<int64_t>(integer(info[2]));
  return Napi::Number::New(info.Env(), works.add(groups.at(info[0])->broadcast(tensors, options)));
} END

// allGather(groupId, outputHandles[], inputHandle) -> work id; output i receives rank i's input.
ENTRY(allGather) {
  std::vector<std::vector<at::Tensor>> outputs{tensorList(info[1])};
  std::vector<at::Tensor> inputs{kestrel::tensorArg(info[2])};
  return Napi::Number::New(info.Env(), works.add(groups.at(info[0])->allgather(outputs, inputs)));
} END

ENTRY(barrier) {
  return Napi::Number::New(info.Env(), works.add(groups.at(info[0])->barrier()));
} END

// wait(workId, timeoutMs): blocks this thread until the collective is done; throws its error, or on timeout.
ENTRY(wait) {
  auto work = works.take(info[0]);
  const int64_t timeout = integer(info[1]);
  work->wait(milliseconds(std::max<int64_t>(0, timeout)));  // NOTE: 0 is c10d's "no timeout".
  return info.Env().Undefined();
} END

// waitAsync(workId) -> Promise settled when the collective completes (the backend's own timeout bounds it).
ENTRY(waitAsync) {
  Napi::Env env = info.Env();
  auto work = works.take(info[0]);
  auto future = work->getFuture();
  struct Pending {
    Napi::Promise::Deferred deferred;
    Napi::ThreadSafeFunction tsfn;
    c10::intrusive_ptr<c10d::Work> work;
  };
  auto* pending = new Pending{Napi::Promise::Deferred::New(env),
    Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "kestrel-collective", 0, 1), work};
  Napi::Promise promise = pending->deferred.Promise();
  // NOTE: the callback runs on a backend thread (or here, if already done); the Promise is settled on the main thread.
  future->addCallback([pending](c10::ivalue::Future& done) {
    const std::string error = done.hasError() ? done.tryRetrieveErrorMessage() : std::string();
    Napi::ThreadSafeFunction tsfn = pending->tsfn;
    tsfn.BlockingCall([pending, error](Napi::Env env, Napi::Function) {
      if (error.empty()) pending->deferred.Resolve(env.Undefined());
      else pending->deferred.Reject(Napi::Error::New(env, error).Value());
      delete pending;
    });
    tsfn.Release();
  });
  return promise;
} END

// ---- DDP's Reducer -----------------------------------------------------------------

// createReducer(groupId, paramHandles[], names[], bucketBytes, firstBucketBytes, findUnused) -> id. Checks that every
// rank has the same parameter shapes (a collective), then buckets the parameters as DistributedDataParallel does.
ENTRY(createReducer) {
  auto group = groups.at(info[0]);
  const std::vector<at::Tensor> params = tensorList(info[1]);
  const Napi::Array names = info[2].As<Napi::Array>();
  const int64_t bucketBytes = integer(info[3]);
  const int64_t firstBucketBytes = integer(info[4]);
  const bool findUnused = info[5].ToBoolean().Value();
  c10d::verify_params_across_processes(group, params, c10::nullopt);
  const std::vector<bool> sparse(params.size(), false);
  auto assignment = c10d::compute_bucket_assignment_by_size(params, {static_cast<size_t>(firstBucketBytes), static_cast<size_t>(bucketBytes)}, sparse);
  auto indices = std::get<0>(assignment);
  auto limits = std::get<1>(assignment);
  // NOTE: reversed like DistributedDataParallel: gradients arrive roughly last layer first.
  std::reverse(indices.begin(), indices.end());
  std::reverse(limits.begin(), limits.end());
  std::unordered_map<size_t, std::string> paramNames;
  for (uint32_t i = 0; i < names.Length(); ++i) paramNames[i] = str(names.Get(i));
  auto reducer = std::make_shared<c10d::Reducer>(params, indices, limits, group, sparse, bucketBytes, findUnused,
    /*gradient_as_bucket_view=*/false, paramNames, firstBucketBytes);
  return Napi::Number::New(info.Env(), reducers.add(reducer));
} END

// reducerPrepareForward(id): DDP's per-iteration start; after the first iteration it re-buckets once in the order
// gradients arrived (a collective), as DistributedDataParallel.forward does.
ENTRY(reducerPrepareForward) {
  auto& reducer = reducers.at(info[0]);
  reducer->prepare_for_forward();
  reducer->rebuild_buckets();
  return info.Env().Undefined();
} END

// reducerPrepareForBackward(id, outputHandles[]): arms the gradient hooks for the coming backward.
ENTRY(reducerPrepareForBackward) {
  reducers.at(info[0])->prepare_for_backward(tensorList(info[1]));
  return info.Env().Undefined();
} END

ENTRY(releaseReducer) {
  reducers.take(info[0]);
  return info.Env().Undefined();
} END

// ---- heartbeat ---------------------------------------------------------------------

// startHeartbeat(host, port, key, intervalMs) -> id: a thread with its own store connection adds 1 to `key` every
// interval, so survivors can tell which rank stopped. It ends quietly when the store goes away.
ENTRY(startHeartbeat) {
  const std::string host = str(info[0]);
  const auto port = static_cast<uint16_t>(integer(info[1]));
  const std::string key = str(info[2]);
  const int64_t interval = std::max<int64_t>(10, integer(info[3]));
  auto stop = std::make_shared<std::atomic<bool>>(false);
  std::thread([=]() {
    try {
      c10d::TCPStoreOptions options;
      options.port = port;
      options.waitWorkers = false;
      options.timeout = milliseconds(std::max<int64_t>(5000, 5 * interval));
      c10d::TCPStore store(host, options);
      while (!stop->load()) {
        store.add(key, 1);
        for (int64_t slept = 0; slept < interval && !stop->load(); slept += 10) std::this_thread::sleep_for(milliseconds(10));
      }
    } catch (...) {
      // NOTE: the store is gone (its host died or the run ended); the diagnosis on the main thread reports it.
    }
  }).detach();
  return Napi::Number::New(info.Env(), heartbeats.add(stop));
} END

ENTRY(stopHeartbeat) {
  heartbeats.take(info[0])->store(true);
  return info.Env().Undefined();
} END

ENTRY(backends) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("gloo", Napi::Boolean::New(env, true));
#ifdef KESTREL_NCCL
  out.Set("nccl", Napi::Boolean::New(env, true));
#else
  out.Set("nccl", Napi::Boolean::New(env, false));
#endif
  return out;
} END

}  // namespace

namespace kestrel {

Napi::Object distributedExports(Napi::Env env) {
  Napi::Object exports = Napi::Object::New(env);
#define EXPORT(name) exports.Set(#name, Napi::Function::New(env, name, #name))
  EXPORT(backends);
  EXPORT(createStore); EXPORT(prefixStore); EXPORT(storeAdd); EXPORT(storeSet); EXPORT(storeGet); EXPORT(storeCheck); EXPORT(releaseStore);
  EXPORT(createGroup); EXPORT(setSequenceNumber); EXPORT(releaseGroup);
  EXPORT(allReduce); EXPORT(broadcast); EXPORT(allGather); EXPORT(barrier); EXPORT(wait); EXPORT(waitAsync);
  EXPORT(createReducer); EXPORT(reducerPrepareForward); EXPORT(reducerPrepareForBackward); EXPORT(releaseReducer);
  EXPORT(startHeartbeat); EXPORT(stopHeartbeat);
#undef EXPORT
  return exports;
}

}  // namespace kestrel
