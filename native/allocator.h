// A caching CPU allocator for libtorch, installed with c10::SetCPUAllocator.
// NOTE: under Node, glibc malloc fragments badly on the allocate/free pattern of a
// training loop (tens of MB per step, freed from JS), so RSS grows and speed drops.
// Training allocates the same sizes every step, so keeping freed blocks in per-size
// free lists and handing them back gives flat memory and no page-fault cost.
#pragma once

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace kestrel {

class CachingCpuAllocator final : public c10::Allocator {
 public:
  static constexpr size_t kAlignment = 64;
  static constexpr size_t kHeader = 64;  // keeps data 64-byte aligned

  explicit CachingCpuAllocator(size_t cacheLimitBytes) : limit_(cacheLimitBytes) {}

  c10::DataPtr allocate(size_t n) const override {
    if (n == 0) return {nullptr, nullptr, &noop, c10::Device(c10::DeviceType::CPU)};
    const size_t size = roundSize(n);
    void* base = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = pool_.find(size);
      if (it != pool_.end() && !it->second.empty()) {
        base = it->second.back();
        it->second.pop_back();
        cachedBytes_ -= size;
      }
      inUseBytes_ += size;
      if (inUseBytes_ > peakInUseBytes_) peakInUseBytes_ = inUseBytes_;
    }
    if (base == nullptr) {
      if (posix_memalign(&base, kAlignment, size + kHeader) != 0 || base == nullptr) {
        std::lock_guard<std::mutex> lock(mutex_);
        inUseBytes_ -= size;
        throw c10::Error({__func__, __FILE__, static_cast<uint32_t>(__LINE__)},
                         "kestrel: out of memory allocating " + std::to_string(n) + " bytes");
      }
      *static_cast<size_t*>(base) = size;
    }
    // NOTE: context == data (raw_allocate asserts it); the size lives in the header before it.
    void* data = static_cast<char*>(base) + kHeader;
    return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  /** Frees every cached (unused) block back to the system. */
  void emptyCache() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& entry : pool_)
      for (void* base : entry.second) free(base);
    pool_.clear();
    cachedBytes_ = 0;
  }

  size_t inUseBytes() const { return inUseBytes_; }
  size_t cachedBytes() const { return cachedBytes_; }
  size_t peakInUseBytes() const { return peakInUseBytes_; }
  void setLimit(size_t limit) { limit_ = limit; }

  static CachingCpuAllocator* instance;

 private:
  static void noop(void*) {}

  static void release(void* data) {
    if (data == nullptr) return;
    void* base = static_cast<char*>(data) - kHeader;
    CachingCpuAllocator* self = instance;
    const size_t size = *static_cast<size_t*>(base);
    {
      std::lock_guard<std::mutex> lock(self->mutex_);
      self->inUseBytes_ -= size;
      if (self->cachedBytes_ + size <= self->limit_) {
        self->pool_[size].push_back(base);
        self->cachedBytes_ += size;
        return;
      }
    }
    free(base);
  }

  // Size classes: 512-byte steps up to 4 KiB, then 8 classes per power of two (<= 12.5% slack).
  static size_t roundSize(size_t n) {
    if (n <= 4096) return (n + 511) & ~static_cast<size_t>(511);
    size_t power = 4096;
    while (power < n) power <<= 1;
    const size_t step = power / 8;
    return ((n + step - 1) / step) * step;
  }

  mutable std::mutex mutex_;
  mutable std::unordered_map<size_t, std::vector<void*>> pool_;
  mutable size_t cachedBytes_ = 0;
  mutable size_t inUseBytes_ = 0;
  mutable size_t peakInUseBytes_ = 0;
  size_t limit_;
};

}  // namespace kestrel
