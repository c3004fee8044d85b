// Compile-time ties between the C ABI and the C++ library: the ABI version is the project version, and every
// C enum value is the C++ enumerator it stands for (the C ABI converts between them with static_cast).
// Nothing here generates code; a mismatch stops the build.
#include "talkgen.h"
#include "talkgen/client.hpp"
#include "talkgen/error.hpp"
#include "talkgen/generate.hpp"
#include "talkgen/log.hpp"
#include "talkgen/version.hpp"

static_assert(TALKGEN_ABI_VERSION_MAJOR == TALKGEN_VERSION_MAJOR && TALKGEN_ABI_VERSION_MINOR == TALKGEN_VERSION_MINOR &&
                  TALKGEN_ABI_VERSION_PATCH == TALKGEN_VERSION_PATCH,
              "talkgen.h's TALKGEN_ABI_VERSION_* must equal project(talkgen VERSION ...) in CMakeLists.txt");
static_assert(TALKGEN_ABI_VERSION == ((TALKGEN_VERSION_MAJOR << 16) | (TALKGEN_VERSION_MINOR << 8) | TALKGEN_VERSION_PATCH),
              "TALKGEN_ABI_VERSION packs MAJOR.MINOR.PATCH as (MAJOR << 16) | (MINOR << 8) | PATCH");
static_assert(TALKGEN_VERSION_MINOR < 256 && TALKGEN_VERSION_PATCH < 256, "version parts are one byte each");

namespace {

template <typename C, typename Cpp>
constexpr bool same(C c, Cpp cpp) {
  return static_cast<int>(c) == static_cast<int>(cpp);
}

}  // namespace

using talkgen::ErrorCode;
static_assert(same(TALKGEN_OK, ErrorCode::ok));
static_assert(same(TALKGEN_INVALID_ARGUMENT, ErrorCode::invalid_argument));
static_assert(same(TALKGEN_NOT_FOUND, ErrorCode::not_found));
static_assert(same(TALKGEN_UNSUPPORTED, ErrorCode::unsupported));
static_assert(same(TALKGEN_CHECKPOINT_MISMATCH, ErrorCode::checkpoint_mismatch));
static_assert(same(TALKGEN_OUT_OF_MEMORY, ErrorCode::out_of_memory));
static_assert(same(TALKGEN_DEVICE_UNAVAILABLE, ErrorCode::device_unavailable));
static_assert(same(TALKGEN_CANCELLED, ErrorCode::cancelled));
static_assert(same(TALKGEN_TIMEOUT, ErrorCode::timeout));
static_assert(same(TALKGEN_IO_ERROR, ErrorCode::io_error));
static_assert(same(TALKGEN_INTERNAL, ErrorCode::internal));

using talkgen::JobState;
static_assert(same(TALKGEN_JOB_QUEUED, JobState::queued));
static_assert(same(TALKGEN_JOB_RUNNING, JobState::running));
static_assert(same(TALKGEN_JOB_RETRYING, JobState::retrying));
static_assert(same(TALKGEN_JOB_SUCCEEDED, JobState::succeeded));
static_assert(same(TALKGEN_JOB_FAILED, JobState::failed));
static_assert(same(TALKGEN_JOB_CANCELLED, JobState::cancelled));

using Stage = talkgen::GenerateProgress::Stage;
static_assert(same(TALKGEN_STAGE_PREPARING, Stage::preparing));
static_assert(same(TALKGEN_STAGE_SAMPLING, Stage::sampling));
static_assert(same(TALKGEN_STAGE_DECODING, Stage::decoding));
static_assert(same(TALKGEN_STAGE_ENCODING, Stage::encoding));
static_assert(same(TALKGEN_STAGE_DONE, Stage::done));

using talkgen::LogLevel;
static_assert(same(TALKGEN_LOG_TRACE, LogLevel::trace));
static_assert(same(TALKGEN_LOG_DEBUG, LogLevel::debug));
static_assert(same(TALKGEN_LOG_INFO, LogLevel::info));
static_assert(same(TALKGEN_LOG_WARN, LogLevel::warn));
static_assert(same(TALKGEN_LOG_ERROR, LogLevel::error));
static_assert(same(TALKGEN_LOG_OFF, LogLevel::off));
