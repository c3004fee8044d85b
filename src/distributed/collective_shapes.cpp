#include "distributed/collective_shapes.hpp"

#include <fmt/ranges.h>

#include "talkgen/error.hpp"

namespace talkgen::distributed {

int64_t checked_dim(const at::Tensor& t, int64_t dim, const char* op) {
  const int64_t n = t.dim();
  if (dim < -n || dim >= n)
    fail(ErrorCode::invalid_argument, "{}: dimension {} is out of range for a tensor of shape {}; expected -{}..{}", op,
         dim, describe(t), n, n - 1);
  return dim < 0 ? dim + n : dim;
}

void check_defined(const at::Tensor& t, const char* op) {
  if (!t.defined()) fail(ErrorCode::invalid_argument, "{}: the input tensor is undefined; pass a tensor", op);
}

void check_divisible(const at::Tensor& t, int64_t dim, int world, const char* op) {
  if (t.size(dim) % world != 0)
    fail(ErrorCode::invalid_argument,
         "{}: dimension {} of the input {} has size {}, which does not split into {} equal pieces; pad it to a "
         "multiple of the world size",
         op, dim, describe(t), t.size(dim), world);
}

std::string describe(const at::Tensor& t) {
  if (!t.defined()) return "undefined";
  return fmt::format("{} [{}] on {}", c10::toString(t.scalar_type()), fmt::join(t.sizes(), ", "), t.device().str());
}

std::string shape_text(const at::Tensor& t) {
  if (!t.defined()) return "undefined";
  return fmt::format("{} [{}]", c10::toString(t.scalar_type()), fmt::join(t.sizes(), ", "));
}

at::Tensor concat_stacked(const at::Tensor& stacked, int64_t dim) {
  // Piece i sits at stacked[i]; moving the stack axis next to `dim` and merging the two is cat along dim.
  return stacked.movedim(0, dim).flatten(dim, dim + 1);
}

at::Tensor split_stacked(const at::Tensor& input, int64_t dim, int world) {
  return input.unflatten(dim, {world, input.size(dim) / world}).movedim(dim, 0);
}

}  // namespace talkgen::distributed
