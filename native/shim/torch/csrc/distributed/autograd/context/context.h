// Stand-in for libtorch's distributed-autograd context header, used only where a libtorch's include/ lacks it
// (Debian's libtorch-dev). c10d/reducer.hpp names just these two types: a shared_ptr to the context and the
// gradient callback type, neither of which changes the Reducer's layout. Kestrel never uses distributed autograd.
#pragma once
#include <functional>
#include <memory>

#include <ATen/core/Tensor.h>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};
using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace autograd
}  // namespace distributed
}  // namespace torch
