// Prompt cleaning: expected strings are what Python 3.11 gives for the reference's
// whitespace_clean(basic_clean(text)) (ftfy 6.3.1's fix_text, html.unescape twice, str.strip, regex \s+ -> ' ').
#include "catch_prefixed.hpp"

#include "model/umt5/text_clean.hpp"
#include "talkgen/error.hpp"

using talkgen::model::umt5::clean_prompt;

CATCH_TEST_CASE("clean_prompt collapses Unicode whitespace and strips like Python", "[umt5][tokenizer]") {
  CATCH_CHECK(clean_prompt("  a \t b\n\nc  ") == "a b c");
  CATCH_CHECK(clean_prompt("x\u3000\u00a0y\u2009z") == "x y z");
  // U+001C..U+001F are str.isspace but not regex \s; ftfy removes them (control characters) before either.
  CATCH_CHECK(clean_prompt("\x1c a \x1d") == "a");
  CATCH_CHECK(clean_prompt("a\x1c b") == "a b");
  CATCH_CHECK(clean_prompt("") == "");
  CATCH_CHECK(clean_prompt(" \n\t ") == "");
}

CATCH_TEST_CASE("clean_prompt unescapes HTML twice, as html.unescape does", "[umt5][tokenizer]") {
  CATCH_CHECK(clean_prompt("Tom &amp;amp; Jerry &lt;3") == "Tom & Jerry <3");
  CATCH_CHECK(clean_prompt("&AMP &amp") == "& &");
  CATCH_CHECK(clean_prompt("&#65;&#x42;&#X43") == "ABC");
  CATCH_CHECK(clean_prompt("& ; &# &#x; &;") == "& ; &# &#x; &;");
  // Longest-prefix names, invalid numbers, the Windows-1252 table and unknown names.
  CATCH_CHECK(clean_prompt("&notit; &copy2024 &#x1F600;&#128512 &#0; &#x110000; &#128; &bogus; &#xD800;") ==
              "\u00acit; \u00a92024 \U0001F600\U0001F600 \uFFFD \uFFFD \u20AC &bogus; \uFFFD");
  CATCH_CHECK(clean_prompt("&#99999999999999999999;") == "\uFFFD");
}

CATCH_TEST_CASE("clean_prompt rejects invalid UTF-8", "[umt5][tokenizer]") {
  for (const std::string& bad : {std::string("abc\xff"), std::string("\xc3"), std::string("\xed\xa0\x80"),
                                std::string("\xc0\xaf")}) {
    try {
      clean_prompt(bad);
      CATCH_FAIL("no error for invalid UTF-8");
    } catch (const talkgen::Error& e) {
      CATCH_CHECK(e.code() == talkgen::ErrorCode::invalid_argument);
      CATCH_CHECK_THAT(e.what(), Catch::Contains("UTF-8"));
    }
  }
}
