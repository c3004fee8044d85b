#include "model/io/quant_checkpoint.hpp"

#include <sys/stat.h>

#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "model/io/quant_safetensors_file.hpp"
#include "talkgen/error.hpp"

namespace talkgen::model::io {

struct QuantizedCheckpoint::State {
  std::shared_ptr<const TensorSource> source;
  std::map<std::string, QuantizedLinearInfo> quantized;
  std::set<std::string> consumed;                        // every key a quantized Linear owns
  std::unordered_map<std::string, std::string> weight_of;  // "m.weight" -> m, for the dequantized view
};

namespace {

using nlohmann::json;

constexpr size_t kMaxListedProblems = 12;

bool is_floating_scale(at::ScalarType t) { return t == at::kFloat || t == at::kBFloat16 || t == at::kHalf; }

std::string shape_str(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Collects every mismatch so one error names them all (fixing one at a time would take many loads).
struct Problems {
  std::string where;
  std::vector<std::string> items;
  void add(std::string item) { items.push_back(std::move(item)); }
  void throw_if_any() const {
    if (items.empty()) return;
    std::string listed;
    for (size_t i = 0; i < items.size() && i < kMaxListedProblems; ++i) listed += "\n  - " + items[i];
    if (items.size() > kMaxListedProblems) listed += fmt::format("\n  ... and {} more", items.size() - kMaxListedProblems);
    fail(ErrorCode::checkpoint_mismatch, "quantized checkpoint {} does not fit the model ({} problem{}):{}\nuse the "
         "quantized files made for this model (and, for quanto, the .json map published with them)", where,
         items.size(), items.size() == 1 ? "" : "s", listed);
  }
};

class Headers {
 public:
  explicit Headers(const TensorSource& source) : source_(source) {
    for (TensorInfo& info : source.list()) by_name_.emplace(info.name, std::move(info));
  }
  const TensorInfo* find(const std::string& name) const {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &it->second;
  }
  const std::map<std::string, TensorInfo>& all() const { return by_name_; }
  std::string dtype(const TensorInfo& info) const { return declared_dtype_name(source_, info); }
  Float8Kind float8(const TensorInfo& info) const { return float8_kind_of(source_, info); }

 private:
  const TensorSource& source_;
  std::map<std::string, TensorInfo> by_name_;
};

// Checks the 8-bit data tensor; returns false (after recording why) when it does not fit.
bool check_data(const Headers& headers, const TensorInfo& data, bool want_float8, const ExpectedLinear& linear,
                const std::string& why_dtype, Problems& problems) {
  bool ok = true;
  const bool is_e4m3 = headers.float8(data) == Float8Kind::e4m3fn;
  const bool is_int8 = headers.float8(data) == Float8Kind::none && data.dtype == at::kChar;
  if (want_float8 ? !is_e4m3 : !is_int8) {
    problems.add(fmt::format("'{}' has dtype {}, expected {} ({})", data.name, headers.dtype(data),
                             want_float8 ? "F8_E4M3" : "I8", why_dtype));
    ok = false;
  }
  if (data.shape != std::vector<int64_t>{linear.out_features, linear.in_features}) {
    problems.add(fmt::format("'{}' has shape {}, but the model's {} weight is [{}, {}]", data.name,
                             shape_str(data.shape), linear.module, linear.out_features, linear.in_features));
    ok = false;
  }
  return ok;
}

// Checks a per-output-channel scale. `allowed` lists the accepted shapes for this format.
bool check_scale(const Headers& headers, const TensorInfo& scale, const std::vector<std::vector<int64_t>>& allowed,
                 Problems& problems) {
  bool ok = true;
  if (!is_floating_scale(scale.dtype) || headers.float8(scale) != Float8Kind::none) {
    problems.add(fmt::format("'{}' has dtype {}, expected a floating-point scale (F32, BF16 or F16)", scale.name,
                             headers.dtype(scale)));
    ok = false;
  }
  bool shape_ok = false;
  for (const auto& shape : allowed) shape_ok |= scale.shape == shape;
  if (!shape_ok) {
    std::vector<std::string> names;
    for (const auto& shape : allowed) names.push_back(shape_str(shape));
    problems.add(fmt::format("'{}' has shape {}, expected one scale per output channel: {}", scale.name,
                             shape_str(scale.shape), fmt::join(names, " or ")));
    ok = false;
  }
  return ok;
}

std::map<std::string, const ExpectedLinear*> index_linears(const std::vector<ExpectedLinear>& linears) {
  std::map<std::string, const ExpectedLinear*> out;
  for (const ExpectedLinear& l : linears) out.emplace(l.module, &l);
  return out;
}

enum class QuantoWeights { none, int8, float8 };

QuantoWeights quanto_weights(const std::string& module, const QuantoModuleConfig& config, const std::string& qmap_file,
                             Problems& problems) {
  // quanto/tensor/qtype.py: qtype names are "qint2/4/8", "qfloat8_e4m3fn", "qfloat8_e4m3fnuz",
  // "qfloat8_e5m2"; its `qtypes` dict also has the alias "qfloat8" (= qfloat8_e4m3fn), which requantize accepts.
  if (config.activations != "none")
    fail(ErrorCode::unsupported, "quantization map '{}' quantizes the activations of '{}' ({}); talkgen runs "
         "weight-only quantized checkpoints (activations \"none\"), as InfiniteTalk publishes them", qmap_file, module,
         config.activations);
  const std::string& w = config.weights;
  if (w == "none") return QuantoWeights::none;
  if (w == "qint8") return QuantoWeights::int8;
  if (w == "qfloat8_e4m3fn" || w == "qfloat8") return QuantoWeights::float8;
  if (w == "qint2" || w == "qint4" || w == "qfloat8_e5m2" || w == "qfloat8_e4m3fnuz")
    fail(ErrorCode::unsupported, "quantization map '{}' quantizes '{}' as {}; talkgen reads qint8 and qfloat8_e4m3fn "
         "weights (InfiniteTalk's int8 and fp8 files)", qmap_file, module, w);
  problems.add(fmt::format("quantization map '{}' gives '{}' the unknown weight type \"{}\" (quanto knows qint8, "
                           "qfloat8_e4m3fn, ...)", qmap_file, module, w));
  return QuantoWeights::none;
}

// --------------------------------------------------------------------------------------------- views

// The source without the quantized Linears' keys.
class RestSource final : public TensorSource {
 public:
  explicit RestSource(std::shared_ptr<const QuantizedCheckpoint::State> state) : state_(std::move(state)) {}
  std::vector<TensorInfo> list() const override {
    std::vector<TensorInfo> out;
    for (TensorInfo& info : state_->source->list())
      if (!state_->consumed.count(info.name)) out.push_back(std::move(info));
    return out;
  }
  bool contains(const std::string& name) const override {
    return !state_->consumed.count(name) && state_->source->contains(name);
  }
  at::Tensor read(const std::string& name) const override {
    if (state_->consumed.count(name))
      fail(ErrorCode::not_found, "'{}' belongs to a quantized Linear of '{}'; read it through QuantizedCheckpoint",
           name, state_->source->describe());
    return state_->source->read(name);
  }
  std::string describe() const override { return state_->source->describe(); }

 private:
  std::shared_ptr<const QuantizedCheckpoint::State> state_;
};

// The source with each quantized Linear shown as a plain, dequantised m.weight.
class DequantizedSource final : public TensorSource {
 public:
  DequantizedSource(std::shared_ptr<const QuantizedCheckpoint::State> state, QuantizedCheckpoint checkpoint,
                    std::optional<at::ScalarType> dtype)
      : state_(std::move(state)), checkpoint_(std::move(checkpoint)), dtype_(dtype) {}
  std::vector<TensorInfo> list() const override {
    std::vector<TensorInfo> out;
    for (TensorInfo& info : state_->source->list()) {
      if (!state_->consumed.count(info.name)) {
        out.push_back(std::move(info));
        continue;
      }
      for (const auto& [module, q] : state_->quantized) {
        if (q.data_key != info.name) continue;  // the weight takes the data tensor's place in file order
        const at::ScalarType reference = is_quanto(q.format) ? q.scale_dtype : at::kFloat;
        out.push_back({module + ".weight", dtype_.value_or(reference), {q.out_features, q.in_features}, info.file});
      }
    }
    return out;
  }
  bool contains(const std::string& name) const override {
    return state_->weight_of.count(name) ||
           (!state_->consumed.count(name) && state_->source->contains(name));
  }
  at::Tensor read(const std::string& name) const override {
    const auto it = state_->weight_of.find(name);
    if (it != state_->weight_of.end()) {
      const QuantizedWeight w = checkpoint_.read(it->second);
      return dtype_ ? w.dequantize(*dtype_) : w.dequantize();
    }
    if (state_->consumed.count(name))
      fail(ErrorCode::not_found, "'{}' is part of a quantized Linear of '{}' and is shown dequantised as its "
           "'.weight'", name, state_->source->describe());
    return state_->source->read(name);
  }
  std::string describe() const override { return state_->source->describe() + " (dequantised)"; }

 private:
  static bool is_quanto(QuantFormat f) { return f == QuantFormat::quanto_int8 || f == QuantFormat::quanto_fp8_e4m3; }
  std::shared_ptr<const QuantizedCheckpoint::State> state_;
  QuantizedCheckpoint checkpoint_;
  std::optional<at::ScalarType> dtype_;
};

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::io_error, "cannot read quantization map '{}'; check its permissions", path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::map<std::string, QuantoModuleConfig> parse_quanto_qmap(std::string_view text, const std::string& file) {
  // A map is two levels deep; deeper input is refused while parsing (no large hostile trees).
  const json::parser_callback_t limit_depth = [&](int depth, json::parse_event_t, json&) {
    if (depth > 3)
      fail(ErrorCode::invalid_argument, "quantization map '{}' is nested deeper than a quanto map (module -> "
           "{{\"weights\", \"activations\"}})", file);
    return true;
  };
  json root;
  try {
    root = json::parse(text.begin(), text.end(), limit_depth);
  } catch (const json::exception& e) {
    fail(ErrorCode::invalid_argument, "quantization map '{}' is not valid JSON ({}); re-download it with its "
         ".safetensors", file, e.what());
  }
  if (!root.is_object())
    fail(ErrorCode::invalid_argument, "quantization map '{}' is a JSON {}, expected an object of module -> "
         "{{\"weights\": ..., \"activations\": ...}}", file, root.type_name());
  std::map<std::string, QuantoModuleConfig> out;
  for (const auto& [module, entry] : root.items()) {
    if (!entry.is_object() || !entry.contains("weights") || !entry.contains("activations") ||
        !entry["weights"].is_string() || !entry["activations"].is_string())
      fail(ErrorCode::invalid_argument, "quantization map '{}': entry '{}' is {}, expected {{\"weights\": \"qint8\", "
           "\"activations\": \"none\"}} (quanto's quantization_map layout)", file, module,
           entry.dump().substr(0, 200));
    out.emplace(module, QuantoModuleConfig{entry["weights"].get<std::string>(), entry["activations"].get<std::string>()});
  }
  return out;
}

QuantizedCheckpoint QuantizedCheckpoint::from_quanto(std::shared_ptr<const TensorSource> source,
                                                     std::string_view qmap_json, const std::string& qmap_file,
                                                     const std::vector<ExpectedLinear>& linears) {
  const std::map<std::string, QuantoModuleConfig> qmap = parse_quanto_qmap(qmap_json, qmap_file);
  const auto expected = index_linears(linears);
  const Headers headers(*source);
  Problems problems{fmt::format("'{}' (map '{}')", source->describe(), qmap_file), {}};
  auto state = std::make_shared<State>();
  state->source = source;

  std::set<std::string> mapped_quantized;
  std::set<std::string> accounted;  // the keys of every mapped quantized Linear, valid or not (reported once)
  for (const auto& [module, config] : qmap) {
    const QuantoWeights kind = quanto_weights(module, config, qmap_file, problems);
    const auto linear_it = expected.find(module);
    if (linear_it == expected.end()) {
      problems.add(fmt::format("the map names module '{}', which is not a Linear of the model", module));
      continue;
    }
    // quanto saves input_scale / output_scale for every QModule, weights quantized or not (qmodule.py).
    std::vector<std::string> unused;
    for (const char* buffer : {".input_scale", ".output_scale"}) {
      const TensorInfo* info = headers.find(module + buffer);
      if (!info) continue;
      if (!info->shape.empty() || !is_floating_scale(info->dtype))
        problems.add(fmt::format("'{}' has dtype {} and shape {}, expected a floating-point scalar", info->name,
                                 headers.dtype(*info), shape_str(info->shape)));
      unused.push_back(info->name);
    }
    for (const std::string& key : unused) state->consumed.insert(key);
    if (kind == QuantoWeights::none) continue;
    mapped_quantized.insert(module);

    const ExpectedLinear& linear = *linear_it->second;
    const std::string data_key = module + ".weight._data", scale_key = module + ".weight._scale";
    accounted.insert(data_key);
    accounted.insert(scale_key);
    const TensorInfo* data = headers.find(data_key);
    const TensorInfo* scale = headers.find(scale_key);
    if (!data) problems.add(fmt::format("missing '{}' (the map quantizes '{}' as {})", data_key, module, config.weights));
    if (!scale) problems.add(fmt::format("missing '{}' (the map quantizes '{}' as {})", scale_key, module, config.weights));
    if (headers.find(module + ".weight"))
      problems.add(fmt::format("'{}.weight' is a plain weight, but the map quantizes '{}' as {} (a quanto file holds "
                               "'{}' and '{}' instead)", module, module, config.weights, data_key, scale_key));
    if (!data || !scale) continue;
    const bool want_float8 = kind == QuantoWeights::float8;
    bool ok = check_data(headers, *data, want_float8, linear, fmt::format("the map says {}", config.weights), problems);
    // quanto/tensor/optimizers/absmax_optimizer.py: amax over dim 1 with keepdim -> [out, 1]; a one-row
    // weight is quantized per tensor (quantize_weight: axis -> None), a scalar scale.
    std::vector<std::vector<int64_t>> allowed{{linear.out_features, 1}};
    if (linear.out_features == 1) allowed.push_back({});
    ok &= check_scale(headers, *scale, allowed, problems);
    if (!ok) continue;
    QuantizedLinearInfo info;
    info.module = module;
    info.format = want_float8 ? QuantFormat::quanto_fp8_e4m3 : QuantFormat::quanto_int8;
    info.data_key = data_key;
    info.scale_key = scale_key;
    info.out_features = linear.out_features;
    info.in_features = linear.in_features;
    info.scale_dtype = scale->dtype;
    info.unused_keys = unused;
    state->consumed.insert(data_key);
    state->consumed.insert(scale_key);
    state->weight_of.emplace(module + ".weight", module);
    state->quantized.emplace(module, std::move(info));
  }
  // Quantized tensors the map does not account for: the reference would leave that weight unloaded.
  for (const auto& [name, info] : headers.all()) {
    for (const std::string_view suffix : {std::string_view(".weight._data"), std::string_view(".weight._scale")}) {
      if (!ends_with(name, suffix)) continue;
      const std::string module = name.substr(0, name.size() - suffix.size());
      if (!mapped_quantized.count(module))
        problems.add(fmt::format("'{}' is a quantized weight, but the map {} '{}'", name,
                                 qmap.count(module) ? "does not quantize the weights of" : "has no entry for", module));
    }
    if (headers.float8(info) != Float8Kind::none && !accounted.count(name))
      problems.add(fmt::format("'{}' is a float8 tensor outside the quantized Linears", name));
  }
  problems.throw_if_any();
  return QuantizedCheckpoint(std::move(state));
}

QuantizedCheckpoint QuantizedCheckpoint::from_lightx2v(std::shared_ptr<const TensorSource> source,
                                                       const std::vector<ExpectedLinear>& linears) {
  const auto expected = index_linears(linears);
  const Headers headers(*source);
  Problems problems{fmt::format("'{}' (LightX2V layout)", source->describe()), {}};
  if (headers.find("scaled_fp8"))
    fail(ErrorCode::unsupported, "'{}' is a ComfyUI scaled-fp8 file (one `scale_weight` per tensor); talkgen reads "
         "LightX2V's per-channel files (`weight_scale`) and quanto files", source->describe());
  auto state = std::make_shared<State>();
  state->source = source;
  std::set<std::string> accounted;  // weights that have a scale, valid or not (reported once)

  for (const auto& [name, info] : headers.all()) {
    if (!ends_with(name, ".weight_scale")) continue;
    const std::string module = name.substr(0, name.size() - std::string_view(".weight_scale").size());
    const auto linear_it = expected.find(module);
    if (linear_it == expected.end()) {
      problems.add(fmt::format("'{}' scales module '{}', which is not a Linear of the model", name, module));
      continue;
    }
    const ExpectedLinear& linear = *linear_it->second;
    const std::string data_key = module + ".weight";
    accounted.insert(data_key);
    const TensorInfo* data = headers.find(data_key);
    if (!data) {
      problems.add(fmt::format("missing '{}' (its scale '{}' is there)", data_key, name));
      continue;
    }
    const Float8Kind f8 = headers.float8(*data);
    const bool want_float8 = f8 != Float8Kind::none || data->dtype != at::kChar;
    // converter.py: scales.view(out, -1) -> [out, 1]; accept [out] too (the same numbers).
    bool ok = check_data(headers, *data, want_float8, linear, "a LightX2V quantized weight is I8 or F8_E4M3", problems);
    ok &= check_scale(headers, info, {{linear.out_features, 1}, {linear.out_features}}, problems);
    if (!ok) continue;
    QuantizedLinearInfo q;
    q.module = module;
    q.format = want_float8 ? QuantFormat::lightx2v_fp8_e4m3 : QuantFormat::lightx2v_int8;
    q.data_key = data_key;
    q.scale_key = name;
    q.out_features = linear.out_features;
    q.in_features = linear.in_features;
    q.scale_dtype = info.dtype;
    state->consumed.insert(data_key);
    state->consumed.insert(name);
    state->weight_of.emplace(data_key, module);
    state->quantized.emplace(module, std::move(q));
  }
  // An 8-bit weight without its scale cannot be used: name the scale that is missing.
  for (const auto& [name, info] : headers.all()) {
    if (state->consumed.count(name) || accounted.count(name)) continue;
    const bool eight_bit = headers.float8(info) != Float8Kind::none || info.dtype == at::kChar;
    if (!eight_bit) continue;
    if (ends_with(name, ".weight"))
      problems.add(fmt::format("'{}' is {} but '{}_scale' is missing", name, headers.dtype(info), name));
    else
      problems.add(fmt::format("'{}' is {}, which only quantized Linear weights may be", name, headers.dtype(info)));
  }
  problems.throw_if_any();
  if (state->quantized.empty())
    fail(ErrorCode::invalid_argument, "'{}' has no quantized Linear (no '*.weight_scale' tensors); load it as a "
         "plain checkpoint", source->describe());
  return QuantizedCheckpoint(std::move(state));
}

QuantizedCheckpoint QuantizedCheckpoint::open(const std::string& path, const std::vector<ExpectedLinear>& linears) {
  auto source = std::make_shared<QuantSafetensorsFile>(path);
  // The reference derives the map's path from the file's (wan/multitalk.py: quant_dir.replace('safetensors',
  // 'json')); here only the extension is replaced, so a folder named "safetensors" does not move the map.
  const std::string suffix = ".safetensors";
  const std::string qmap_path = ends_with(path, suffix) ? path.substr(0, path.size() - suffix.size()) + ".json" : "";
  if (!qmap_path.empty() && file_exists(qmap_path))
    return from_quanto(source, read_text(qmap_path), qmap_path, linears);
  bool quanto_keys = false, lightx2v_keys = false;
  for (const TensorInfo& info : source->list()) {
    quanto_keys |= ends_with(info.name, ".weight._data") || ends_with(info.name, ".weight._scale");
    lightx2v_keys |= ends_with(info.name, ".weight_scale");
  }
  if (quanto_keys)
    fail(ErrorCode::not_found, "'{}' is an optimum-quanto checkpoint, but its quantization map '{}' is missing; put "
         "the .json published with it next to it", path, qmap_path.empty() ? path + ".json" : qmap_path);
  if (lightx2v_keys) return from_lightx2v(source, linears);
  fail(ErrorCode::invalid_argument, "'{}' holds no quantized weights (neither quanto's '*.weight._data' nor "
       "LightX2V's '*.weight_scale'); load it as a plain checkpoint", path);
}

const std::map<std::string, QuantizedLinearInfo>& QuantizedCheckpoint::quantized() const { return state_->quantized; }

bool QuantizedCheckpoint::is_quantized(const std::string& module) const { return state_->quantized.count(module) != 0; }

QuantizedWeight QuantizedCheckpoint::read(const std::string& module) const {
  const auto it = state_->quantized.find(module);
  if (it == state_->quantized.end())
    fail(ErrorCode::not_found, "'{}' is not a quantized Linear of '{}'", module, state_->source->describe());
  const QuantizedLinearInfo& info = it->second;
  QuantizedWeight w;
  w.format = info.format;
  w.data = state_->source->read(info.data_key);
#if TALKGEN_TORCH_HAS_FLOAT8
  if (w.data.scalar_type() == at::kFloat8_e4m3fn) w.data = w.data.view(at::kByte);
#endif
  w.scale = state_->source->read(info.scale_key);
  // The headers were checked at open; a source whose data disagree with its own header is damaged.
  const bool data_ok = w.data.sizes() == at::IntArrayRef{info.out_features, info.in_features} &&
                       w.data.scalar_type() == (is_float8(info.format) ? at::kByte : at::kChar);
  if (!data_ok || w.scale.scalar_type() != info.scale_dtype)
    fail(ErrorCode::invalid_argument, "'{}' returned '{}' / '{}' unlike its header; the file changed while loading",
         state_->source->describe(), info.data_key, info.scale_key);
  return w;
}

std::shared_ptr<const TensorSource> QuantizedCheckpoint::rest() const { return std::make_shared<RestSource>(state_); }

std::shared_ptr<const TensorSource> QuantizedCheckpoint::dequantized(std::optional<at::ScalarType> dtype) const {
  return std::make_shared<DequantizedSource>(state_, *this, dtype);
}

}  // namespace talkgen::model::io
