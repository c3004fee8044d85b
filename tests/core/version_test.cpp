#include <catch2/catch.hpp>

#include <string>

#include "talkgen/version.hpp"

TEST_CASE("the library reports the version its headers were built with") {
  CHECK(std::string(talkgen::version()) == TALKGEN_VERSION_STRING);
  const std::string features = talkgen::build_features();
  CHECK(features.find("torch ") != std::string::npos);
  CHECK(features.find("cuda ") != std::string::npos);
}
