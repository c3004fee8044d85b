#include "model/umt5/tokenizer.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include "model/umt5/sentencepiece_library.hpp"
#include "model/umt5/text_clean.hpp"
#include "talkgen/error.hpp"

namespace talkgen::model::umt5 {
namespace fs = std::filesystem;

namespace {

struct AddedToken {
  std::string content;
  int64_t id;
};

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::io_error, "cannot read '{}': check the file's permissions", path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

nlohmann::json parse_json(const fs::path& path, bool skip_model) {
  const std::string text = read_text(path);
  try {
    // tokenizer.json's "model" holds the whole vocabulary (the 256k pieces of umT5); it is not needed here.
    return nlohmann::json::parse(text, [skip_model](int depth, nlohmann::json::parse_event_t event, nlohmann::json& value) {
      return !(skip_model && depth == 1 && event == nlohmann::json::parse_event_t::key && value == "model");
    });
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCode::invalid_argument, "'{}' is not valid JSON ({}): expected the tokenizer file of google/umt5-xxl",
         path.string(), e.what());
  }
}

}  // namespace

struct Tokenizer::Impl {
  std::unique_ptr<SentencePiece> sp;
  std::vector<AddedToken> added;  // literal tokens matched before sentencepiece runs
  int64_t seq_len = 512, eos = 1, pad = 0, unk = 2, vocab = 0;

  // Leftmost-longest match of an added token at byte `pos`, or nullptr.
  const AddedToken* match_at(const std::string& text, size_t pos) const {
    const AddedToken* best = nullptr;
    for (const auto& t : added)
      if ((!best || t.content.size() > best->content.size()) && text.compare(pos, t.content.size(), t.content) == 0)
        best = &t;
    return best;
  }

  void encode_piece(const std::string& text, std::vector<int64_t>& out) const {
    if (text.empty()) return;
    bool in_bytes = false;
    for (int id : sp->encode(text)) {
      if (sp->is_byte(id)) {  // a run of byte-fallback pieces is one unknown run to the fast tokenizer
        if (!in_bytes) out.push_back(unk);
        in_bytes = true;
      } else {
        out.push_back(id);
        in_bytes = false;
      }
    }
  }
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::open(const std::string& path, int64_t seq_len) {
  if (seq_len < 1) fail(ErrorCode::invalid_argument, "tokenizer seq_len must be >= 1, got {}", seq_len);
  const fs::path p(path);
  if (!fs::exists(p))
    fail(ErrorCode::not_found, "tokenizer '{}' does not exist: pass the google/umt5-xxl folder or its spiece.model",
         path);
  const bool is_dir = fs::is_directory(p);
  const fs::path model = is_dir ? p / "spiece.model" : p;
  if (!fs::exists(model))
    fail(ErrorCode::not_found, "tokenizer folder '{}' has no spiece.model: expected the google/umt5-xxl folder", path);

  auto impl = std::make_unique<Impl>();
  impl->seq_len = seq_len;
  impl->sp = std::make_unique<SentencePiece>(model.string());
  const SentencePiece& sp = *impl->sp;
  if (sp.eos_id() < 0 || sp.pad_id() < 0)
    fail(ErrorCode::invalid_argument, "sentencepiece model '{}' has no {} piece: expected a T5 vocabulary",
         model.string(), sp.eos_id() < 0 ? "</s>" : "<pad>");
  impl->eos = sp.eos_id();
  impl->pad = sp.pad_id();
  impl->unk = sp.unk_id();
  const int64_t pieces = sp.piece_size();

  const fs::path json_path = is_dir ? p / "tokenizer.json" : fs::path();
  const fs::path config_path = is_dir ? p / "tokenizer_config.json" : fs::path();
  if (is_dir && fs::exists(json_path)) {
    const auto j = parse_json(json_path, /*skip_model=*/true);
    for (const auto& t : j.value("added_tokens", nlohmann::json::array()))
      impl->added.push_back({t.at("content").get<std::string>(), t.at("id").get<int64_t>()});
    // A space right before an added token gives no "▁" piece: transformers 5 (the reference as measured,
    // tests/data/parity/umt5) drops it whatever the file's normalizer says; transformers 4.x with the
    // 2023 tokenizer.json emitted one. Only prompts that spell out special tokens are affected.
  } else {
    // No tokenizer.json: transformers converts spiece.model itself (control pieces + <extra_id_N> sentinels).
    for (int id = 0; id < pieces; ++id)
      if (sp.is_control(id) || sp.is_unknown(id)) impl->added.push_back({sp.id_to_piece(id), id});
    int64_t extra_ids = 0;
    if (is_dir && fs::exists(config_path)) extra_ids = parse_json(config_path, false).value("extra_ids", int64_t{100});
    for (int64_t i = 0; i < extra_ids; ++i)
      impl->added.push_back({"<extra_id_" + std::to_string(i) + ">", pieces + extra_ids - 1 - i});
  }
  impl->added.erase(std::remove_if(impl->added.begin(), impl->added.end(),
                                   [](const AddedToken& t) { return t.content.empty(); }),
                    impl->added.end());
  impl->vocab = pieces;
  for (const auto& t : impl->added) impl->vocab = std::max(impl->vocab, t.id + 1);
  return Tokenizer(std::move(impl));
}

std::vector<int64_t> Tokenizer::encode(const std::string& text) const {
  const Impl& m = *impl_;
  const std::string clean = clean_prompt(text);
  std::vector<int64_t> ids;
  size_t start = 0;
  const auto flush = [&](size_t end) {
    const std::string piece = clean.substr(start, end - start);
    m.encode_piece(piece, ids);
  };
  for (size_t pos = 0; pos < clean.size();) {
    if (const AddedToken* t = m.added.empty() ? nullptr : m.match_at(clean, pos)) {
      flush(pos);
      ids.push_back(t->id);
      pos += t->content.size();
      start = pos;
    } else {
      ++pos;
    }
  }
  if (start < clean.size()) m.encode_piece(clean.substr(start), ids);
  if (static_cast<int64_t>(ids.size()) > m.seq_len - 1) ids.resize(m.seq_len - 1);
  ids.push_back(m.eos);
  return ids;
}

TokenBatch Tokenizer::encode_batch(const std::vector<std::string>& texts) const {
  const auto b = static_cast<int64_t>(texts.size());
  TokenBatch batch{at::full({b, impl_->seq_len}, impl_->pad, at::kLong), at::zeros({b, impl_->seq_len}, at::kLong)};
  auto ids = batch.ids.accessor<int64_t, 2>();
  auto mask = batch.mask.accessor<int64_t, 2>();
  for (int64_t i = 0; i < b; ++i) {
    const auto row = encode(texts[i]);
    for (size_t j = 0; j < row.size(); ++j) ids[i][j] = row[j], mask[i][j] = 1;
  }
  return batch;
}

int64_t Tokenizer::seq_len() const { return impl_->seq_len; }
int64_t Tokenizer::vocab_size() const { return impl_->vocab; }
int64_t Tokenizer::pad_id() const { return impl_->pad; }
int64_t Tokenizer::eos_id() const { return impl_->eos; }
int64_t Tokenizer::unk_id() const { return impl_->unk; }

}  // namespace talkgen::model::umt5
