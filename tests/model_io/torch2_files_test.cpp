// Files written by PyTorch 2.x and the official safetensors package (tests/data/model_io/torch2/, made on
// the GPU machine by make_fixtures.py --torch2). float8 needs libtorch >= 2.1; older builds must refuse it
// with Error(unsupported).
#include "model_io_test_util.hpp"  // first: see the note there about CHECK

#include <torch/version.h>

#include "model/io/tensor_source.hpp"

using namespace talkgen::model::io;
using namespace model_io_test;
using talkgen::ErrorCode;

#define TALKGEN_HAS_FLOAT8 (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1))

TEST_CASE("a PyTorch 2.x torch.save state dict reads back") {
  auto source = open_checkpoint(data_path("torch2/state_dict.pth"));
  const at::Tensor base = ramp({4, 6});
  CHECK(same(source->read("weight"), ramp({3, 4}, at::kBFloat16)));
  CHECK(same(source->read("half"), ramp({5}, at::kHalf)));
  CHECK(same(source->read("steps"), at::arange(7, at::kLong)));
  CHECK(same(source->read("view.transposed"), base.t()));
  CHECK(same(source->read("view.block"), base.slice(0, 1, 3).slice(1, 2, 5)));
  CHECK(same(source->read("param"), ramp({2, 3})));
  CHECK(source->list().size() == 6);
}

TEST_CASE("safetensors written by the official package read back") {
  auto source = open_checkpoint(data_path("torch2/official.safetensors"));
  CHECK(same(source->read("bf16"), ramp({2, 3}, at::kBFloat16)));
  CHECK(same(source->read("f16"), ramp({2, 3}, at::kHalf)));
  CHECK(same(source->read("f32"), ramp({2, 3})));
  CHECK(same(source->read("i64"), ramp({2, 3}, at::kLong)));
  CHECK(same(source->read("bool"), ramp({2, 3}, at::kBool)));
}

TEST_CASE("float8 tensors load on libtorch >= 2.1 and are refused before") {
#if TALKGEN_HAS_FLOAT8
  // Compared as bytes: not every libtorch implements equal() for float8.
  const at::Tensor w = open_checkpoint(data_path("torch2/float8.pth"))->read("w");
  CHECK(w.scalar_type() == at::kFloat8_e4m3fn);
  CHECK(at::equal(w.view(at::kByte), ramp({4}, at::kFloat8_e4m3fn).view(at::kByte)));
  auto st = open_checkpoint(data_path("torch2/float8.safetensors"));
  CHECK(at::equal(st->read("f8").view(at::kByte), ramp({4}, at::kFloat8_e4m3fn).view(at::kByte)));
  CHECK(at::equal(st->read("f8b").view(at::kByte), ramp({4}, at::kFloat8_e5m2).view(at::kByte)));
#else
  require_error([] { open_checkpoint(data_path("torch2/float8.pth")); }, ErrorCode::unsupported,
                {"float8.pth", "float8_e4m3fn", "2.1"});
  require_error([] { open_checkpoint(data_path("torch2/float8.safetensors")); }, ErrorCode::unsupported,
                {"float8.safetensors", "F8_E", "2.1"});
#endif
}
