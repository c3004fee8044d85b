#include <cstdio>
#include "talkgen/version.hpp"
#include "talkgen/error.hpp"
int main() { std::printf("cpp %s %s\n", talkgen::version(), talkgen::to_string(talkgen::ErrorCode::not_found)); }
