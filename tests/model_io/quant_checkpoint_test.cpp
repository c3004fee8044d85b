// Quantized checkpoints (src/model/io/quant_checkpoint.hpp) against the fixtures of tools/parity/gen_quant.py:
// quanto int8 / fp8 files made from float32 and bfloat16 Linears, and LightX2V int8 / fp8 files. The
// dequantised weights must equal the reference's dequantisation bit for bit; every mismatch must be
// Error(checkpoint_mismatch) naming the key, before any tensor is read.
#include "model_io_test_util.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>

#include "model/io/quant_checkpoint.hpp"
#include "model/io/quant_linear.hpp"
#include "model/io/quant_safetensors_file.hpp"

using namespace talkgen::model::io;
using model_io_test::require_error;
using model_io_test::safetensors_bytes;
using model_io_test::scratch_path;
using model_io_test::write_file;
using talkgen::ErrorCode;

namespace {

std::string quant_data(const std::string& name) { return std::string(TALKGEN_TEST_DATA_DIR) + "/parity/quant/" + name; }

// The fixture model's Linears (gen_quant.py LINEARS): the last one is never quantized.
const std::vector<ExpectedLinear> kLinears = {
    {"blocks.0.self_attn.q", 8, 12}, {"blocks.0.ffn.0", 16, 8}, {"blocks.0.ffn.2", 8, 16},
    {"head.head", 4, 8},             {"probe.one_row", 1, 8},   {"text_embedding.0", 8, 4},
};
const std::vector<std::string> kQuantoModules = {"blocks.0.self_attn.q", "blocks.0.ffn.0", "blocks.0.ffn.2",
                                                 "head.head", "probe.one_row"};

const QuantSafetensorsFile& expected() {
  static const QuantSafetensorsFile file(quant_data("expected.safetensors"));
  return file;
}

bool bit_equal(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const at::Tensor ac = a.contiguous(), bc = b.contiguous();
  return std::memcmp(ac.data_ptr(), bc.data_ptr(), ac.nbytes()) == 0;
}

// A fixture's tensors with their declared dtype names, to write modified copies.
struct Named {
  std::string dtype;
  at::Tensor tensor;
};
using Tensors = std::vector<std::pair<std::string, Named>>;

Tensors load_all(const std::string& path) {
  QuantSafetensorsFile file(path);
  Tensors out;
  for (const TensorInfo& info : file.list()) out.push_back({info.name, {declared_dtype_name(file, info), file.read(info.name)}});
  return out;
}

std::string bytes_of(const Tensors& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& [name, t] : tensors) {
    const at::Tensor c = t.tensor.contiguous();
    const size_t begin = data.size();
    data.append(static_cast<const char*>(c.data_ptr()), c.nbytes());
    header[name] = {{"dtype", t.dtype}, {"shape", c.sizes().vec()}, {"data_offsets", {begin, data.size()}}};
  }
  return safetensors_bytes(header.dump(), data);
}

Tensors without(Tensors tensors, const std::string& name) {
  tensors.erase(std::remove_if(tensors.begin(), tensors.end(), [&](const auto& p) { return p.first == name; }),
                tensors.end());
  return tensors;
}

Named& find(Tensors& tensors, const std::string& name) {
  for (auto& [n, t] : tensors)
    if (n == name) return t;
  throw std::logic_error("no tensor " + name);
}

// Writes a modified quanto fixture (+ map) to scratch and returns its path.
std::string write_quanto(const std::string& tag, const Tensors& tensors, const std::string& qmap) {
  const std::string path = scratch_path("quant_" + tag + ".safetensors");
  write_file(path, bytes_of(tensors));
  write_file(scratch_path("quant_" + tag + ".json"), qmap);
  return path;
}

// Counts reads, to prove the checks run from the headers alone (forwarding the float8 types, as a wrapper must).
class CountingSource final : public TensorSource, public Float8Source {
 public:
  explicit CountingSource(std::shared_ptr<const QuantSafetensorsFile> inner) : inner_(std::move(inner)) {}
  Float8Kind float8_kind(const std::string& name) const override { return inner_->float8_kind(name); }
  std::vector<TensorInfo> list() const override { return inner_->list(); }
  bool contains(const std::string& name) const override { return inner_->contains(name); }
  at::Tensor read(const std::string& name) const override {
    ++reads;
    return inner_->read(name);
  }
  std::string describe() const override { return inner_->describe(); }
  mutable std::atomic<int> reads{0};

 private:
  std::shared_ptr<const QuantSafetensorsFile> inner_;
};

}  // namespace

TEST_CASE("quanto fixtures dequantise bit for bit as quanto does", "[quant]") {
  const at::Tensor x = expected().read("x");
  for (const std::string fixture : {"quanto_int8_f32", "quanto_fp8_f32", "quanto_int8_bf16", "quanto_fp8_bf16"}) {
    INFO(fixture);
    const QuantizedCheckpoint ckpt = QuantizedCheckpoint::open(quant_data(fixture + ".safetensors"), kLinears);
    REQUIRE(ckpt.quantized().size() == kQuantoModules.size());
    CHECK_FALSE(ckpt.is_quantized("text_embedding.0"));
    const bool fp8 = fixture.find("fp8") != std::string::npos;
    const at::ScalarType dtype = fixture.find("bf16") != std::string::npos ? at::kBFloat16 : at::kFloat;
    QuantSafetensorsFile file(quant_data(fixture + ".safetensors"));
    for (const std::string& module : kQuantoModules) {
      INFO(module);
      REQUIRE(ckpt.is_quantized(module));
      const QuantizedWeight w = ckpt.read(module);
      CHECK(w.format == (fp8 ? QuantFormat::quanto_fp8_e4m3 : QuantFormat::quanto_int8));
      CHECK(w.reference_dtype() == dtype);
      const at::Tensor dq = w.dequantize();
      CHECK(bit_equal(dq, expected().read(fixture + "/" + module + ".weight")));
      // quanto's forward (qbytes_mm): activations and weights in the scale dtype, + bias.
      const at::Tensor bias = file.read(module + ".bias");
      const at::Tensor y = quantized_linear(x.narrow(1, 0, w.in_features()), w, bias, w.reference_dtype());
      const at::Tensor want = expected().read(fixture + "/" + module + ".y");
      REQUIRE(y.scalar_type() == want.scalar_type());
      const double tolerance = dtype == at::kFloat ? 1e-6 : 1e-2;  // bf16 matmul: accumulation order
      CHECK((y.to(at::kFloat) - want.to(at::kFloat)).abs().max().item<double>() <= tolerance);
    }
  }
}

TEST_CASE("quanto one-row Linear has a scalar scale and per-channel rows have one each", "[quant]") {
  const QuantizedCheckpoint ckpt = QuantizedCheckpoint::open(quant_data("quanto_int8_f32.safetensors"), kLinears);
  CHECK(ckpt.read("probe.one_row").scale.dim() == 0);
  CHECK(ckpt.read("blocks.0.ffn.0").scale.sizes() == at::IntArrayRef{16, 1});
  CHECK(ckpt.read("blocks.0.ffn.0").scale_column().sizes() == at::IntArrayRef{16, 1});
  CHECK(ckpt.read("probe.one_row").scale_column().sizes() == at::IntArrayRef{1, 1});
}

TEST_CASE("LightX2V fixtures dequantise as LightX2V does", "[quant]") {
  for (const std::string fixture : {"lightx2v_fp8", "lightx2v_int8"}) {
    INFO(fixture);
    const QuantizedCheckpoint ckpt = QuantizedCheckpoint::open(quant_data(fixture + ".safetensors"), kLinears);
    const std::vector<std::string> modules = {"blocks.0.self_attn.q", "blocks.0.ffn.0", "blocks.0.ffn.2", "head.head"};
    REQUIRE(ckpt.quantized().size() == modules.size());
    for (const std::string& module : modules) {
      INFO(module);
      const QuantizedWeight w = ckpt.read(module);
      CHECK(w.format == (fixture == "lightx2v_fp8" ? QuantFormat::lightx2v_fp8_e4m3 : QuantFormat::lightx2v_int8));
      CHECK(w.reference_dtype() == at::kFloat);
      CHECK(bit_equal(w.dequantize(), expected().read(fixture + "/" + module + ".weight")));
      CHECK(bit_equal(w.dequantize(at::kBFloat16), expected().read(fixture + "/" + module + ".weight").to(at::kBFloat16)));
    }
  }
}

TEST_CASE("the rest and dequantized views look like a plain checkpoint", "[quant]") {
  const QuantizedCheckpoint ckpt = QuantizedCheckpoint::open(quant_data("quanto_fp8_bf16.safetensors"), kLinears);
  std::map<std::string, TensorInfo> rest, plain;
  for (TensorInfo& i : ckpt.rest()->list()) rest.emplace(i.name, i);
  const auto view = ckpt.dequantized(at::kBFloat16);
  for (TensorInfo& i : view->list()) plain.emplace(i.name, i);
  for (const std::string& module : kQuantoModules) {
    for (const char* suffix : {".weight._data", ".weight._scale", ".input_scale", ".output_scale"}) {
      CHECK_FALSE(rest.count(module + suffix));
      CHECK_FALSE(plain.count(module + suffix));
      CHECK_FALSE(view->contains(module + suffix));
    }
    CHECK(rest.count(module + ".bias"));
    REQUIRE(plain.count(module + ".weight"));
    const TensorInfo& info = plain.at(module + ".weight");
    CHECK(info.dtype == at::kBFloat16);
    const at::Tensor w = view->read(module + ".weight");
    CHECK(w.sizes().vec() == info.shape);
    CHECK(bit_equal(w, expected().read("quanto_fp8_bf16/" + module + ".weight")));
  }
  for (const char* name : {"text_embedding.0.weight", "text_embedding.0.bias", "blocks.0.norm3.weight",
                           "blocks.0.modulation"}) {
    CHECK(rest.count(name));
    CHECK(plain.count(name));
  }
  CHECK(plain.size() == rest.size() + kQuantoModules.size());  // each quantized Linear adds its `.weight`
  require_error([&] { ckpt.rest()->read("head.head.weight._data"); }, ErrorCode::not_found, {"head.head.weight._data"});
  require_error([&] { ckpt.read("text_embedding.0"); }, ErrorCode::not_found, {"text_embedding.0"});
}

TEST_CASE("quanto checks run from the headers: nothing is read until asked", "[quant]") {
  auto counting = std::make_shared<CountingSource>(
      std::make_shared<QuantSafetensorsFile>(quant_data("quanto_fp8_f32.safetensors")));
  const std::string qmap = model_io_test::read_file(quant_data("quanto_fp8_f32.json"));
  const QuantizedCheckpoint ok = QuantizedCheckpoint::from_quanto(counting, qmap, "map.json", kLinears);
  CHECK(counting->reads.load() == 0);
  ok.read("head.head");
  CHECK(counting->reads.load() == 2);  // data and scale, nothing else

  // A mismatch (the model's ffn.0 is wider than the file's) is refused without reading anything.
  auto counting2 = std::make_shared<CountingSource>(
      std::make_shared<QuantSafetensorsFile>(quant_data("quanto_fp8_f32.safetensors")));
  std::vector<ExpectedLinear> wider = kLinears;
  wider[1].in_features = 80;
  require_error([&] { QuantizedCheckpoint::from_quanto(counting2, qmap, "map.json", wider); },
                ErrorCode::checkpoint_mismatch, {"blocks.0.ffn.0.weight._data", "[16, 8]", "[16, 80]"});
  CHECK(counting2->reads.load() == 0);
}

TEST_CASE("quanto mismatches name the key", "[quant]") {
  const Tensors fixture = load_all(quant_data("quanto_fp8_f32.safetensors"));
  const std::string qmap = model_io_test::read_file(quant_data("quanto_fp8_f32.json"));

  SECTION("missing _scale") {
    const std::string path = write_quanto("no_scale", without(fixture, "blocks.0.ffn.2.weight._scale"), qmap);
    require_error([&] { QuantizedCheckpoint::open(path, kLinears); }, ErrorCode::checkpoint_mismatch,
                  {"missing 'blocks.0.ffn.2.weight._scale'", "qfloat8_e4m3fn"});
  }
  SECTION("missing _data") {
    const std::string path = write_quanto("no_data", without(fixture, "head.head.weight._data"), qmap);
    require_error([&] { QuantizedCheckpoint::open(path, kLinears); }, ErrorCode::checkpoint_mismatch,
                  {"missing 'head.head.weight._data'"});
  }
  SECTION("int8 data where the map says fp8") {
    Tensors t = fixture;
    find(t, "blocks.0.ffn.0.weight._data").dtype = "I8";
    const std::string path = write_quanto("wrong_dtype", t, qmap);
    require_error([&] { QuantizedCheckpoint::open(path, kLinears); }, ErrorCode::checkpoint_mismatch,
                  {"'blocks.0.ffn.0.weight._data' has dtype I8, expected F8_E4M3"});
  }
  SECTION("a float8 scale") {
    Tensors t = fixture;
    Named& scale = find(t, "head.head.weight._scale");
    scale = {"F8_E4M3", at::zeros({4, 1}, at::kByte)};
    const std::string path = write_quanto("f8_scale", t, qmap);
    require_error([&] { QuantizedCheckpoint::open(path, kLinears); }, ErrorCode::checkpoint_mismatch,
                  {"'head.head.weight._scale' has dtype F8_E4M3"});
  }
  SECTION("a scale of the wrong shape") {
    Tensors t = fixture;
    Named& scale = find(t, "blocks.0.self_attn.q.weight._scale");
    scale.tensor = scale.tensor.reshape({8});
    const std::string path = write_quanto("scale_shape", t, qmap);
    require_error([&] { QuantizedCheckpoint::open(path, kLinears); }, ErrorCode::checkpoint_mismatch,
                  {"'blocks.0.self_attn.q.weight._scale' has shape [8]", "[8, 1]"});
  }
  SECTION("a map naming a module the model does not have") {
    nlohmann::json m = nlohmann::json::parse(qmap);
    m["blocks.7.ffn.0"] = {{"weights", "qfloat8_e4m3fn"}, {"activations", "none"}};
    const std::string path = write_quanto("extra_module", fixture, m.dump());
    require_error([&] { QuantizedCheckpoint::open(path, kLinears); }, ErrorCode::checkpoint_mismatch,
                  {"'blocks.7.ffn.0', which is not a Linear of the model"});
  }
  SECTION("quantized tensors the map does not list") {
    nlohmann::json m = nlohmann::json::parse(qmap);
    m.erase("blocks.0.ffn.0");
    const std::string path = write_quanto("unlisted", fixture, m.dump());
    require_error([&] { QuantizedCheckpoint::open(path, kLinears); }, ErrorCode::checkpoint_mismatch,
                  {"'blocks.0.ffn.0.weight._data' is a quantized weight", "has no entry for 'blocks.0.ffn.0'"});
  }
  SECTION("a plain weight where the map says quantized") {
    Tensors t = fixture;
    t.push_back({"head.head.weight", {"F32", at::zeros({4, 8})}});
    const std::string path = write_quanto("both", t, qmap);
    require_error([&] { QuantizedCheckpoint::open(path, kLinears); }, ErrorCode::checkpoint_mismatch,
                  {"'head.head.weight' is a plain weight"});
  }
  SECTION("every problem is listed in one error") {
    Tensors t = without(without(fixture, "head.head.weight._scale"), "blocks.0.ffn.2.weight._data");
    const std::string path = write_quanto("two", t, qmap);
    require_error([&] { QuantizedCheckpoint::open(path, kLinears); }, ErrorCode::checkpoint_mismatch,
                  {"2 problems", "head.head.weight._scale", "blocks.0.ffn.2.weight._data"});
  }
  SECTION("quantized activations and 4-bit weights are unsupported") {
    nlohmann::json m = nlohmann::json::parse(qmap);
    m["head.head"]["activations"] = "qint8";
    require_error([&] { QuantizedCheckpoint::open(write_quanto("act", fixture, m.dump()), kLinears); },
                  ErrorCode::unsupported, {"head.head", "activations"});
    m = nlohmann::json::parse(qmap);
    m["head.head"]["weights"] = "qint4";
    require_error([&] { QuantizedCheckpoint::open(write_quanto("int4", fixture, m.dump()), kLinears); },
                  ErrorCode::unsupported, {"head.head", "qint4"});
  }
  SECTION("the alias qfloat8 is quanto's qfloat8_e4m3fn") {
    nlohmann::json m = nlohmann::json::parse(qmap);
    for (auto& [module, entry] : m.items()) entry["weights"] = "qfloat8";
    const QuantizedCheckpoint ckpt = QuantizedCheckpoint::open(write_quanto("alias", fixture, m.dump()), kLinears);
    CHECK(ckpt.quantized().size() == kQuantoModules.size());
  }
  SECTION("a file without its map, a broken map") {
    const std::string path = scratch_path("quant_nomap.safetensors");
    write_file(path, bytes_of(fixture));
    std::remove(scratch_path("quant_nomap.json").c_str());
    require_error([&] { QuantizedCheckpoint::open(path, kLinears); }, ErrorCode::not_found,
                  {"quant_nomap.json", "quantization map"});
    require_error([&] { QuantizedCheckpoint::open(write_quanto("badjson", fixture, "{\"a\": "), kLinears); },
                  ErrorCode::invalid_argument, {"not valid JSON"});
    require_error(
        [&] { QuantizedCheckpoint::open(write_quanto("badentry", fixture, "{\"head.head\": {\"weights\": \"qint8\"}}"), kLinears); },
        ErrorCode::invalid_argument, {"head.head", "activations"});
  }
}

TEST_CASE("LightX2V mismatches name the key", "[quant]") {
  const Tensors fixture = load_all(quant_data("lightx2v_fp8.safetensors"));
  const std::string path = scratch_path("quant_lx.safetensors");

  SECTION("an fp8 weight without its weight_scale") {
    write_file(path, bytes_of(without(fixture, "blocks.0.ffn.0.weight_scale")));
    require_error([&] { QuantizedCheckpoint::open(path, kLinears); }, ErrorCode::checkpoint_mismatch,
                  {"'blocks.0.ffn.0.weight' is F8_E4M3 but 'blocks.0.ffn.0.weight_scale' is missing"});
  }
  SECTION("a scale for a module the model does not have") {
    Tensors t = fixture;
    t.push_back({"blocks.3.ffn.0.weight_scale", {"F32", at::ones({16, 1})}});
    write_file(path, bytes_of(t));
    require_error([&] { QuantizedCheckpoint::open(path, kLinears); }, ErrorCode::checkpoint_mismatch,
                  {"'blocks.3.ffn.0.weight_scale'", "not a Linear of the model"});
  }
  SECTION("a bf16 weight with a scale, a scale of the wrong length") {
    Tensors t = fixture;
    find(t, "head.head.weight") = {"BF16", at::zeros({4, 8}, at::kBFloat16)};
    Named& scale = find(t, "blocks.0.ffn.2.weight_scale");
    scale.tensor = at::ones({4, 1});
    write_file(path, bytes_of(t));
    require_error([&] { QuantizedCheckpoint::open(path, kLinears); }, ErrorCode::checkpoint_mismatch,
                  {"'head.head.weight' has dtype BF16", "'blocks.0.ffn.2.weight_scale' has shape [4, 1]"});
  }
  SECTION("a ComfyUI scaled-fp8 file is not this layout") {
    Tensors t = fixture;
    t.push_back({"scaled_fp8", {"F8_E4M3", at::zeros({2}, at::kByte)}});
    write_file(path, bytes_of(t));
    require_error([&] { QuantizedCheckpoint::open(path, kLinears); }, ErrorCode::unsupported, {"ComfyUI"});
  }
  SECTION("a file with no quantized weights at all") {
    write_file(path, bytes_of({{"head.head.weight", {"F32", at::zeros({4, 8})}}}));
    require_error([&] { QuantizedCheckpoint::open(path, kLinears); }, ErrorCode::invalid_argument,
                  {"holds no quantized weights"});
  }
}
