// load_strict: names, shapes, dtypes and the one combined error for a mismatched checkpoint.
#include "model_io_test_util.hpp"  // first: see the note there about CHECK

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "model/io/load_module.hpp"
#include "model/io/safetensors_source.hpp"

using namespace talkgen::model::io;
using namespace model_io_test;
using talkgen::ErrorCode;

namespace {

// Mirrors a checkpoint: "proj.weight", "proj.bias", "norm.weight", "norm.bias" and an integer buffer "steps".
struct Tiny : torch::nn::Module {
  Tiny() {
    proj = register_module("proj", torch::nn::Linear(3, 2));
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({2})));
    steps = register_buffer("steps", at::zeros({2}, at::kLong));
  }
  torch::nn::Linear proj{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  at::Tensor steps;
};

std::vector<std::pair<std::string, at::Tensor>> good_tensors() {
  return {{"proj.weight", ramp({2, 3}, at::kBFloat16)},
          {"proj.bias", ramp({2})},
          {"norm.weight", ramp({2}, at::kHalf)},
          {"norm.bias", ramp({2}, at::kDouble)},
          {"steps", at::tensor({7, 9}, at::kInt)}};
}

std::string write_checkpoint(const std::string& name, const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  const std::string path = scratch_path(name);
  write_file(path, safetensors_of(tensors));
  return path;
}

}  // namespace

TEST_CASE("load_strict copies every tensor, casting floats and keeping integer buffers integer") {
  Tiny model;
  const at::Tensor weight_before = model.proj->weight;
  SafetensorsFile source(write_checkpoint("good.safetensors", good_tensors()));
  LoadOptions options;
  options.dtype = at::kBFloat16;
  options.keep_fp32 = [](const std::string& key) { return key.rfind("norm.", 0) == 0; };
  load_strict(model, source, options);

  CHECK(same(model.proj->weight, ramp({2, 3}, at::kBFloat16)));
  CHECK(same(model.proj->bias, ramp({2}).to(at::kBFloat16)));
  CHECK(same(model.norm->weight, ramp({2}, at::kHalf).to(at::kFloat)));  // keep_fp32
  CHECK(same(model.norm->bias, ramp({2})));
  CHECK(same(model.steps, at::tensor({7, 9}, at::kLong)));  // the module's integer dtype, no float round trip
  // The module's own parameter objects were updated in place (what the forward pass uses).
  CHECK(weight_before.scalar_type() == at::kBFloat16);
  CHECK(model.named_parameters()["proj.weight"].scalar_type() == at::kBFloat16);
  CHECK(model.named_buffers()["steps"].scalar_type() == at::kLong);
}

TEST_CASE("load_strict reports missing, unexpected and mis-shaped keys together") {
  auto tensors = good_tensors();
  tensors.erase(tensors.begin() + 1);                           // proj.bias missing
  tensors[0].second = ramp({3, 3});                             // proj.weight mis-shaped
  tensors.emplace_back("extra.weight", ramp({1}));              // unexpected
  tensors.emplace_back("text.tower", ramp({1}));                // ignored by the options
  SafetensorsFile source(write_checkpoint("bad.safetensors", tensors));
  Tiny model;
  LoadOptions options;
  options.ignore_key = [](const std::string& k) { return k.rfind("text.", 0) == 0; };
  require_error([&] { load_strict(model, source, options); }, ErrorCode::checkpoint_mismatch,
                {"bad.safetensors", "1 missing, 1 unexpected, 1 mis-shaped", "proj.bias", "extra.weight",
                 "proj.weight: module expects [2, 3], checkpoint has [3, 3]"});
  // Nothing was loaded: the check runs before any tensor is copied.
  CHECK(model.proj->weight.scalar_type() == at::kFloat);
  CHECK_FALSE(same(model.norm->weight, ramp({2}, at::kHalf).to(at::kFloat)));
}

TEST_CASE("load_strict: rename, optional keys and integer/float confusion") {
  SECTION("renamed checkpoint keys and a dropped one") {
    auto tensors = good_tensors();
    for (auto& [name, t] : tensors) name = "model." + name;
    tensors.emplace_back("model.unused", ramp({1}));
    SafetensorsFile source(write_checkpoint("renamed.safetensors", tensors));
    Tiny model;
    LoadOptions options;
    options.rename = [](const std::string& k) { return k == "model.unused" ? std::string() : k.substr(6); };
    load_strict(model, source, options);
    CHECK(same(model.proj->weight, ramp({2, 3})));
  }
  SECTION("an optional key absent from the checkpoint keeps its value and still gets the dtype") {
    auto tensors = good_tensors();
    tensors.pop_back();  // steps
    tensors.erase(tensors.begin() + 3);  // norm.bias
    SafetensorsFile source(write_checkpoint("optional.safetensors", tensors));
    Tiny model;
    LoadOptions options;
    options.dtype = at::kHalf;
    options.optional_key = [](const std::string& k) { return k == "steps" || k == "norm.bias"; };
    load_strict(model, source, options);
    CHECK(same(model.norm->bias, at::zeros({2}, at::kHalf)));
    CHECK(same(model.steps, at::zeros({2}, at::kLong)));
  }
  SECTION("a float tensor for an integer buffer is a mismatch") {
    auto tensors = good_tensors();
    tensors.back().second = ramp({2});
    SafetensorsFile source(write_checkpoint("int_float.safetensors", tensors));
    Tiny model;
    require_error([&] { load_strict(model, source); }, ErrorCode::checkpoint_mismatch, {"steps", "Long", "Float"});
  }
  SECTION("two checkpoint keys renamed onto one module key") {
    auto tensors = good_tensors();
    tensors.emplace_back("copy.proj.bias", ramp({2}));
    SafetensorsFile source(write_checkpoint("dup.safetensors", tensors));
    Tiny model;
    LoadOptions options;
    options.rename = [](const std::string& k) { return k.rfind("copy.", 0) == 0 ? k.substr(5) : k; };
    require_error([&] { load_strict(model, source, options); }, ErrorCode::checkpoint_mismatch,
                  {"proj.bias", "copy.proj.bias"});
  }
}

TEST_CASE("load_strict lists at most 20 keys of a kind and counts the rest") {
  std::vector<std::pair<std::string, at::Tensor>> tensors = good_tensors();
  for (int i = 0; i < 30; ++i) tensors.emplace_back("junk." + std::to_string(i), ramp({1}));
  SafetensorsFile source(write_checkpoint("many.safetensors", tensors));
  Tiny model;
  require_error([&] { load_strict(model, source); }, ErrorCode::checkpoint_mismatch,
                {"30 unexpected", "... and 10 more"});
}

TEST_CASE("load_strict loads a torch.save module state dict into the same module in C++") {
  // module_state.bin is nn.Sequential(Linear(3, 2), BatchNorm1d(2)).state_dict(); mirror its names.
  struct Mirror : torch::nn::Module {
    Mirror() {
      lin = register_module("0", torch::nn::Linear(3, 2));
      auto bn = std::make_shared<torch::nn::Module>();
      register_module("1", bn);
      bn->register_parameter("weight", at::zeros({2}));
      bn->register_parameter("bias", at::zeros({2}));
      bn->register_buffer("running_mean", at::zeros({2}));
      bn->register_buffer("running_var", at::zeros({2}));
      bn->register_buffer("num_batches_tracked", at::zeros({}, at::kLong));
    }
    torch::nn::Linear lin{nullptr};
  } model;
  auto source = open_checkpoint(data_path("module_state.bin"));
  load_strict(model, *source);
  CHECK(same(model.lin->weight, ramp({2, 3})));
  CHECK(model.named_buffers()["1.num_batches_tracked"].item<int64_t>() == 5);
  CHECK(same(model.named_buffers()["1.running_var"], at::ones({2})));
}
