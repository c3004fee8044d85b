// ftfy.fix_text (default configuration) in C++: every case of tests/data/parity/umt5/ftfy_cases.json, which
// tools/parity/gen_ftfy_cases.py made by running the real ftfy 6.3.1 (inputs exercising each of its fixes,
// text it must leave alone, and random mojibake), plus its mojibake heuristic on its own.
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "catch_prefixed.hpp"
#include "model/umt5/ftfy_badness.hpp"
#include "model/umt5/ftfy_codecs.hpp"
#include "model/umt5/ftfy_fix_text.hpp"
#include "model/umt5/text_clean.hpp"
#include "model/umt5/utf8.hpp"
#include "parity_data.hpp"

namespace umt5 = talkgen::model::umt5;

namespace {

nlohmann::json load_cases() {
  std::ifstream in(umt5_test::require_file("ftfy_cases.json"));
  return nlohmann::json::parse(in);
}

std::u32string case_input(const nlohmann::json& c) {
  if (c.contains("input_codepoints")) {  // lone surrogates cannot be written as JSON strings
    std::u32string s;
    for (const auto& cp : c.at("input_codepoints")) s.push_back(cp.get<char32_t>());
    return s;
  }
  return umt5::utf8_decode(c.at("input").get<std::string>());
}

}  // namespace

CATCH_TEST_CASE("ftfy fix_text matches ftfy 6.3.1 on every generated case", "[umt5][ftfy]") {
  const auto doc = load_cases();
  CATCH_REQUIRE(doc.at("ftfy") == "6.3.1");
  const auto& cases = doc.at("fix_text");
  CATCH_REQUIRE(cases.size() >= 100);
  size_t changed = 0;
  for (const auto& c : cases) {
    const std::u32string input = case_input(c);
    const std::string expected = c.at("expected").get<std::string>();
    changed += umt5::utf8_decode(expected) != input;
    CATCH_INFO("case: " << c.at("what").get<std::string>() << "\ninput: " << c.dump());
    CATCH_CHECK(umt5::utf8_encode(umt5::ftfy::fix_text(input)) == expected);
  }
  CATCH_CHECK(changed >= cases.size() / 2);  // the corpus is mostly text that ftfy changes
}

CATCH_TEST_CASE("ftfy mojibake heuristic matches badness.is_bad", "[umt5][ftfy]") {
  const auto doc = load_cases();
  const auto& cases = doc.at("is_bad");
  CATCH_REQUIRE(cases.size() >= 100);
  size_t bad = 0;
  for (const auto& c : cases) {
    const std::string text = c.at("input").get<std::string>();
    const bool expected = c.at("expected").get<bool>();
    bad += expected;
    CATCH_INFO("input: " << c.dump());
    CATCH_CHECK(umt5::ftfy::looks_like_mojibake(umt5::utf8_decode(text)) == expected);
  }
  CATCH_CHECK(bad > 0);
  CATCH_CHECK(bad < cases.size());
}

CATCH_TEST_CASE("ftfy fix_text works in segments of at most a million characters", "[umt5][ftfy]") {
  // Expected values from Python: ftfy.fix_text("a" * 999999 + "Ã©") keeps "Ã©", split across two
  // segments; one character less and the pair is in one segment and becomes "é".
  const std::u32string split = std::u32string(999999, U'a') + U"\u00c3\u00a9";
  CATCH_CHECK(umt5::ftfy::fix_text(split) == split);
  const std::u32string whole = std::u32string(999998, U'a') + U"\u00c3\u00a9";
  CATCH_CHECK(umt5::ftfy::fix_text(whole) == std::u32string(999998, U'a') + U"\u00e9");
}

CATCH_TEST_CASE("clean_prompt runs ftfy before unescaping and collapsing whitespace", "[umt5][ftfy][tokenizer]") {
  // Python: whitespace_clean(basic_clean(...)) with the real ftfy.
  CATCH_CHECK(umt5::clean_prompt("A woman says \u201cHello!\u201d\x07 in a caf\u00c3\u00a9\u2028then smiles") ==
              "A woman says \"Hello!\" in a caf\u00e9 then smiles");
  CATCH_CHECK(umt5::clean_prompt("\uff21\uff22\u3000\ufb01ne\x1b[1m &amp;amp;") == "AB fine &");
}

CATCH_TEST_CASE("ftfy utf-8-variants decoding, regex end-of-input quirks included", "[umt5][ftfy]") {
  // Expected values: bytes.decode("utf-8-variants") with ftfy 6.3.1's bad_codecs on Python 3.11. Its `$`
  // also matches before a final newline, so C0 0A and a CESU-8 pair cut before a final newline decode too.
  using umt5::ftfy::decode_utf8_variants;
  const auto decoded = [](std::string_view bytes) { return decode_utf8_variants(bytes).value_or(U"<error>"); };
  CATCH_CHECK(decoded(std::string_view("\xc0\x80", 2)) == std::u32string(1, U'\0'));
  CATCH_CHECK(decoded("a\xed\xa0\xbd\xed\xb8\x80" "b") == U"a\U0001F600b");
  CATCH_CHECK(decoded("\xed\x95\x9c") == U"\uD55C");
  CATCH_CHECK(decoded("\xc0\n") == std::u32string(1, U'\0'));
  CATCH_CHECK(decoded("x\xed\xa0\xbd\xed\xb8\n") == U"x\U0001F60A");
  CATCH_CHECK(decoded("\xed\xa0\xbd") == U"<error>");
  CATCH_CHECK(decoded("\xc0") == U"<error>");
  CATCH_CHECK(decoded("\xed\xa0\xbd\xed\xb8\x80\xed\xa0") == U"<error>");
  CATCH_CHECK(umt5::ftfy::decode_utf8_strict("\xed\xa0\xbd\xed\xb8\x80") == std::nullopt);
}
