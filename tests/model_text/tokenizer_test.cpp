// umT5 tokenizer: parity with the reference's HuggingfaceTokenizer (tokens.safetensors from
// tools/parity/gen_umt5.py) and behaviour that needs no reference data.
#include <algorithm>
#include <fstream>

#include "catch_prefixed.hpp"
#include <nlohmann/json.hpp>

#include "model/io/tensor_source.hpp"
#include "model/umt5/text_clean.hpp"
#include "model/umt5/tokenizer.hpp"
#include "parity_data.hpp"
#include "talkgen/error.hpp"

using talkgen::ErrorCode;
using talkgen::model::umt5::Tokenizer;

namespace {

std::string spm_model() { return umt5_test::data_dir() + "/spiece.model"; }

ErrorCode open_error(const std::string& path) {
  try {
    Tokenizer::open(path);
  } catch (const talkgen::Error& e) {
    return e.code();
  }
  return ErrorCode::ok;
}

}  // namespace

CATCH_TEST_CASE("umT5 tokenizer matches the reference ids and masks", "[umt5][tokenizer][parity]") {
  const std::string tokens_path = umt5_test::require_file("tokens.safetensors");
  const std::string prompts_path = umt5_test::require_file("prompts.json");
  umt5_test::require_file("tokenizer.json");
  std::ifstream in(prompts_path);
  const auto j = nlohmann::json::parse(in);
  // Data made before the generators used the real ftfy (an identity stand-in cleaned the prompts) has no
  // "ftfy" entry; its cleaned strings and some ids are not the reference's.
  if (!j.contains("ftfy") || j.at("ftfy") != "6.3.1")
    CATCH_FAIL(prompts_path << " was not made with ftfy 6.3.1: regenerate tests/data/parity/umt5 with "
                               "tools/parity/gen_umt5.py and the real ftfy (tests/data/parity/README.md, \"ftfy\")");
  const auto prompts = j.at("prompts").get<std::vector<std::string>>();
  const auto cleaned = j.at("cleaned").get<std::vector<std::string>>();

  for (size_t i = 0; i < prompts.size(); ++i) {
    CATCH_INFO("prompt " << i);
    CATCH_CHECK(talkgen::model::umt5::clean_prompt(prompts[i]) == cleaned[i]);
  }

  const auto tok = Tokenizer::open(umt5_test::data_dir());
  const auto batch = tok.encode_batch(prompts);
  const auto ref = talkgen::model::io::open_checkpoint(tokens_path);
  const at::Tensor ids = ref->read("ids"), mask = ref->read("mask");
  CATCH_REQUIRE(ids.sizes() == batch.ids.sizes());
  for (int64_t i = 0; i < ids.size(0); ++i) {
    CATCH_INFO("prompt " << i << ": " << prompts[i].substr(0, 80));
    CATCH_CHECK(at::equal(batch.ids[i], ids[i].to(at::kLong)));
    CATCH_CHECK(at::equal(batch.mask[i], mask[i].to(at::kLong)));
  }
}

CATCH_TEST_CASE("umT5 tokenizer appends </s>, pads with 0 and truncates to seq_len", "[umt5][tokenizer]") {
  const auto tok = Tokenizer::open(spm_model(), 16);
  CATCH_CHECK(tok.encode("") == std::vector<int64_t>{tok.eos_id()});
  CATCH_CHECK(tok.encode("  \n ") == std::vector<int64_t>{tok.eos_id()});

  const auto shortids = tok.encode("a talking woman");
  CATCH_REQUIRE(shortids.size() >= 3);
  CATCH_CHECK(shortids.back() == tok.eos_id());

  std::string long_text;
  for (int i = 0; i < 50; ++i) long_text += "the camera ";
  const auto longids = tok.encode(long_text);
  CATCH_REQUIRE(longids.size() == 16);
  CATCH_CHECK(longids.back() == tok.eos_id());
  CATCH_CHECK(std::count(longids.begin(), longids.end(), tok.eos_id()) == 1);

  const auto batch = tok.encode_batch({"a talking woman", long_text, ""});
  CATCH_REQUIRE(batch.ids.sizes() == at::IntArrayRef({3, 16}));
  CATCH_CHECK(batch.mask[0].sum().item<int64_t>() == static_cast<int64_t>(shortids.size()));
  CATCH_CHECK(batch.mask[1].sum().item<int64_t>() == 16);
  CATCH_CHECK(batch.mask[2].sum().item<int64_t>() == 1);
  CATCH_CHECK(batch.ids[0][static_cast<int64_t>(shortids.size())].item<int64_t>() == tok.pad_id());
  CATCH_CHECK(batch.ids.masked_select(batch.mask.eq(0)).eq(0).all().item<bool>());
}

CATCH_TEST_CASE("umT5 tokenizer gives one <unk> per run of unknown characters", "[umt5][tokenizer]") {
  // The committed model has byte fallback (as umT5's does); the fast tokenizer does not, so an unknown run
  // is one <unk>, never its UTF-8 bytes.
  const auto tok = Tokenizer::open(spm_model());
  const auto ids = tok.encode("\U0001F600\U0001F600 \U0001F389");
  CATCH_CHECK(std::count(ids.begin(), ids.end(), tok.unk_id()) == 2);
  CATCH_CHECK(ids.size() <= 5);
  for (auto id : ids) CATCH_CHECK((id < 3 || id >= 259));  // no byte piece (<0x00>..<0xFF> are ids 3..258)
}

CATCH_TEST_CASE("umT5 tokenizer maps literal special tokens to their ids", "[umt5][tokenizer]") {
  const auto tok = Tokenizer::open(spm_model());
  const auto ids = tok.encode("a </s> b");
  CATCH_CHECK(std::count(ids.begin(), ids.end(), tok.eos_id()) == 2);
  const auto plain = tok.encode("a b");
  CATCH_CHECK(std::count(plain.begin(), plain.end(), tok.eos_id()) == 1);
}

CATCH_TEST_CASE("umT5 tokenizer is deterministic and cleans before tokenizing", "[umt5][tokenizer]") {
  const auto tok = Tokenizer::open(spm_model());
  CATCH_CHECK(tok.encode("  Tom &amp;amp; Jerry\n") == tok.encode("Tom & Jerry"));
  CATCH_CHECK(tok.encode("\u8272\u8c03\u8273\u4e3d") == tok.encode("\u8272\u8c03\u8273\u4e3d"));
}

CATCH_TEST_CASE("umT5 tokenizer reports bad paths and files", "[umt5][tokenizer]") {
  CATCH_CHECK(open_error("/nonexistent/umt5-xxl") == ErrorCode::not_found);
  CATCH_CHECK(open_error(TALKGEN_TEST_SCRATCH_DIR) == ErrorCode::not_found);  // a folder without spiece.model
  const std::string garbage = std::string(TALKGEN_TEST_SCRATCH_DIR) + "/not_a_model.model";
  std::ofstream(garbage) << "this is not a sentencepiece model";
  CATCH_CHECK(open_error(garbage) == ErrorCode::invalid_argument);
  CATCH_CHECK_THROWS_AS(Tokenizer::open(spm_model(), 0), talkgen::Error);
}
