// kestrel::max_pool2x2: 2x2 max pooling with stride 2 (the MaxPool2d(2) of nearly every small CNN),
// registered as a dispatcher operator so the generic `call` entry point reaches it like any ATen op.
// NOTE: why by hand: libtorch 1.13's max_pool2d_with_indices runs bfloat16 channels-last through a
// scalar loop (4.5 ms for a 256x24x28x28 batch on this machine, against 0.6 ms for the same maxima
// taken with `maximum` on strided views), and its backward zero-fills the whole input gradient before
// scattering into it. Here the forward records which of the 4 window cells won in one byte, and the
// backward writes every input-gradient cell exactly once from those bytes. Same values, same winner as
// ATen (the first maximum in row-major order; a NaN propagates and the last NaN wins), so the
// gradients are PyTorch's.


#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include <cmath>
#include <cstdint>
#include <cstring>

namespace {

struct Geometry {
  int64_t n, c, h, w, oh, ow;
  bool channelsLast;
};

Geometry geometryOf(at::IntArrayRef sizes, bool channelsLast) {
  TORCH_CHECK(sizes.size() == 4, "kestrel::max_pool2x2 expects NCHW input (4 dims), got ", sizes.size(), " dims");
  TORCH_CHECK(sizes[2] >= 2 && sizes[3] >= 2, "kestrel::max_pool2x2 needs height and width of at least 2, got ", sizes);
  return {sizes[0], sizes[1], sizes[2], sizes[3], sizes[2] / 2, sizes[3] / 2, channelsLast};
}

Geometry geometryOf(const at::Tensor& x) {
  return geometryOf(x.sizes(), x.dim() == 4 && x.suggest_memory_format() == at::MemoryFormat::ChannelsLast);
}

at::MemoryFormat formatOf(const Geometry& g) {
  return g.channelsLast ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
}

// Calls body(base, sh, sw, step, obase, ostep, count) for runs of `count` windows (window i starting at
// in[base + i * step], its output at out[obase + i * ostep]), in an order that walks memory.
template <typename Body>
void forEachWindow(const Geometry& g, const at::Tensor& in, const at::Tensor& out, Body body) {
  const int64_t sn = in.stride(0), sc = in.stride(1), sh = in.stride(2), sw = in.stride(3);
  const int64_t osn = out.stride(0), osc = out.stride(1), osh = out.stride(2), osw = out.stride(3);
  if (g.channelsLast) {
    at::parallel_for(0, g.n * g.oh, 1, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        const int64_t n = row / g.oh, y = row % g.oh;
        for (int64_t x = 0; x < g.ow; ++x) {
          const int64_t base = n * sn + 2 * y * sh + 2 * x * sw;
          const int64_t obase = n * osn + y * osh + x * osw;
          body(base, sh, sw, sc, obase, osc, g.c);
        }
      }
    });
  } else {
    at::parallel_for(0, g.n * g.c, 1, [&](int64_t begin, int64_t end) {
      for (int64_t plane = begin; plane < end; ++plane) {
        const int64_t n = plane / g.c, ch = plane % g.c;
        for (int64_t y = 0; y < g.oh; ++y) {
          const int64_t base = n * sn + ch * sc + 2 * y * sh;
          const int64_t obase = n * osn + ch * osc + y * osh;
          body(base, sh, sw, 2 * sw, obase, osw, g.ow);
        }
      }
    });
  }
}

// The float value of a cell: bfloat16 cells are stored as their 16 raw bits (the high half of a float).
inline float cellValue(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof value);
  return value;
}
inline float cellValue(float v) { return v; }
inline double cellValue(double v) { return v; }

// One run of `count` windows: window i has cells a[i*is], b[i*is], c[i*is], d[i*is] (row-major order).
// `cell_t` is the stored type (uint16_t bits for bfloat16); the winner's stored value is copied, so
// the output is exact. NOTE: branch-free (bitwise |, selects): the winner of real data is
// unpredictable, and a first version with ifs was 4x slower than ATen from mispredicted branches;
// with unit steps the loop vectorizes.
template <typename cell_t, bool kCodes, int64_t kStep>
inline void poolRunStep(const cell_t* __restrict a, const cell_t* __restrict b, const cell_t* __restrict c,
                        const cell_t* __restrict d, int64_t step, cell_t* __restrict out, uint8_t* __restrict codes,
                        int64_t ostep, int64_t count) {
  const int64_t is = kStep > 0 ? kStep : step, os = kStep > 0 ? kStep : ostep;
#pragma omp simd
  for (int64_t i = 0; i < count; ++i) {
    const cell_t ca = a[i * is], cb = b[i * is], cc = c[i * is], cd = d[i * is];
    const auto fa = cellValue(ca), fb = cellValue(cb), fc = cellValue(cc), fd = cellValue(cd);
    // As ATen: a cell wins when it is greater than the best so far or NaN (so NaN propagates).
    const bool tb = (fb > fa) | (fb != fb);
    auto m = tb ? fb : fa;
    cell_t best = tb ? cb : ca;
    uint8_t k = tb ? 1 : 0;
    const bool tc = (fc > m) | (fc != fc);
    m = tc ? fc : m;
    best = tc ? cc : best;
    k = tc ? 2 : k;
    const bool td = (fd > m) | (fd != fd);
    best = td ? cd : best;
    k = td ? 3 : k;
    out[i * os] = best;
    if (kCodes) codes[i * os] = k;
  }
}

template <typename cell_t>
inline void poolRun(const cell_t* in, cell_t* out, uint8_t* codes, int64_t base, int64_t sh, int64_t sw, int64_t step,
                    int64_t obase, int64_t ostep, int64_t count) {
  const cell_t* p = in + base;
  const cell_t *a = p, *b = p + sw, *c = p + sh, *d = p + sh + sw;
  cell_t* o = out + obase;
  uint8_t* k = codes ? codes + obase : nullptr;
  const bool unit = step == 1 && ostep == 1;
  if (codes && unit) poolRunStep<cell_t, true, 1>(a, b, c, d, 1, o, k, 1, count);
  else if (codes) poolRunStep<cell_t, true, 0>(a, b, c, d, step, o, k, ostep, count);
  else if (unit) poolRunStep<cell_t, false, 1>(a, b, c, d, 1, o, k, 1, count);
  else poolRunStep<cell_t, false, 0>(a, b, c, d, step, o, k, ostep, count);
}

// The input gradient of one run of windows: cell `code` of each window gets the output gradient, the others zero.
template <typename cell_t, int64_t kStep>
inline void unpoolRunStep(cell_t* __restrict a, cell_t* __restrict b, cell_t* __restrict c, cell_t* __restrict d,
                          int64_t step, const cell_t* __restrict grad, const uint8_t* __restrict codes, int64_t ostep,
                          int64_t count) {
  const int64_t is = kStep > 0 ? kStep : step, os = kStep > 0 ? kStep : ostep;
  const cell_t zero = 0;
#pragma omp simd
  for (int64_t i = 0; i < count; ++i) {
    const cell_t v = grad[i * os];
    const uint8_t k = codes[i * os];
    a[i * is] = k == 0 ? v : zero;
    b[i * is] = k == 1 ? v : zero;
    c[i * is] = k == 2 ? v : zero;
    d[i * is] = k == 3 ? v : zero;
  }
}

template <typename cell_t>
inline void unpoolRun(cell_t* in, const cell_t* grad, const uint8_t* codes, int64_t base, int64_t sh, int64_t sw,
                      int64_t step, int64_t obase, int64_t ostep, int64_t count) {
  cell_t* p = in + base;
  if (step == 1 && ostep == 1) {
    unpoolRunStep<cell_t, 1>(p, p + sw, p + sh, p + sh + sw, 1, grad + obase, codes + obase, 1, count);
  } else {
    unpoolRunStep<cell_t, 0>(p, p + sw, p + sh, p + sh + sw, step, grad + obase, codes + obase, ostep, count);
  }
}

// The stored type of a dtype's cells: bfloat16 as its raw bits (bit 0 of zero is +0.0 for every type).
template <typename scalar_t> struct Cell { using type = scalar_t; };
template <> struct Cell<at::BFloat16> { using type = uint16_t; };

// Values (and, when `withCodes`, the winning cell 0-3 of each window) of 2x2/2 max pooling.
std::tuple<at::Tensor, at::Tensor> poolForward(const at::Tensor& self, bool withCodes) {
  const Geometry g = geometryOf(self);
  const at::Tensor x = self.contiguous(formatOf(g));
  at::Tensor out = at::empty({g.n, g.c, g.oh, g.ow}, x.options().memory_format(formatOf(g)));
  at::Tensor codes = withCodes ? at::empty({g.n, g.c, g.oh, g.ow}, x.options().dtype(at::kByte).memory_format(formatOf(g))) : at::Tensor();
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, x.scalar_type(), "kestrel::max_pool2x2", [&] {
    using cell_t = typename Cell<scalar_t>::type;
    const cell_t* in = reinterpret_cast<const cell_t*>(x.data_ptr<scalar_t>());
    cell_t* o = reinterpret_cast<cell_t*>(out.data_ptr<scalar_t>());
    uint8_t* k = withCodes ? codes.data_ptr<uint8_t>() : nullptr;
    forEachWindow(g, x, out, [&](int64_t base, int64_t sh, int64_t sw, int64_t step, int64_t obase, int64_t ostep, int64_t count) {
      poolRun<cell_t>(in, o, k, base, sh, sw, step, obase, ostep, count);
    });
  });
  return {out, codes};
}

// The input gradient: each window's cell `code` gets the output gradient, the other three zero.
at::Tensor poolBackward(const at::Tensor& gradOut, const at::Tensor& codes, at::IntArrayRef sizes, bool channelsLast) {
  const Geometry g = geometryOf(sizes, channelsLast);
  const at::Tensor grad = gradOut.contiguous(formatOf(g));
  const at::Tensor k = codes.contiguous(formatOf(g));
  // NOTE: odd heights/widths leave a last row/column no window covers: zero it; otherwise every cell is written.
  const bool covered = g.h % 2 == 0 && g.w % 2 == 0;
  at::Tensor gradIn = covered ? at::empty(sizes, grad.options().memory_format(formatOf(g)))
                              : at::zeros(sizes, grad.options().memory_format(formatOf(g)));
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, grad.scalar_type(), "kestrel::max_pool2x2_backward", [&] {
    using cell_t = typename Cell<scalar_t>::type;
    const cell_t* go = reinterpret_cast<const cell_t*>(grad.data_ptr<scalar_t>());
    const uint8_t* kk = k.data_ptr<uint8_t>();
    cell_t* gi = reinterpret_cast<cell_t*>(gradIn.data_ptr<scalar_t>());
    forEachWindow(g, gradIn, grad, [&](int64_t base, int64_t sh, int64_t sw, int64_t step, int64_t obase, int64_t ostep, int64_t count) {
      unpoolRun<cell_t>(gi, go, kk, base, sh, sw, step, obase, ostep, count);
    });
  });
  return gradIn;
}

class MaxPool2x2Function : public torch::autograd::Function<MaxPool2x2Function> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x) {
    auto [out, codes] = poolForward(x, true);
    ctx->save_for_backward({codes});
    ctx->saved_data["sizes"] = x.sizes().vec();
    ctx->saved_data["channelsLast"] = x.suggest_memory_format() == at::MemoryFormat::ChannelsLast;
    return out;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list grads) {
    const at::Tensor codes = ctx->get_saved_variables()[0];
    const auto sizes = ctx->saved_data["sizes"].toIntVector();
    const bool channelsLast = ctx->saved_data["channelsLast"].toBool();
    return {poolBackward(grads[0], codes, sizes, channelsLast)};
  }
};

at::Tensor maxPool2x2Cpu(const at::Tensor& x) { return std::get<0>(poolForward(x, false)); }

at::Tensor maxPool2x2Autograd(const at::Tensor& x) {
  if (!x.requires_grad() || !at::GradMode::is_enabled()) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return maxPool2x2Cpu(x);
  }
  return MaxPool2x2Function::apply(x);
}

}  // namespace

TORCH_LIBRARY(kestrel, m) {
  m.def("max_pool2x2(Tensor self) -> Tensor");
}

TORCH_LIBRARY_IMPL(kestrel, CPU, m) {
  m.impl("max_pool2x2", maxPool2x2Cpu);
}

TORCH_LIBRARY_IMPL(kestrel, Autograd, m) {
  m.impl("max_pool2x2", maxPool2x2Autograd);
}
