// Job ids the Client makes up: unguessable, so that a server can use them as capabilities.
#pragma once

#include <string>

namespace talkgen::client {

/// 32 lowercase hex digits (128 bits) from the kernel's CSPRNG (getrandom, else /dev/urandom).
/// Throws Error(internal) when neither is readable.
std::string make_job_id();

}  // namespace talkgen::client
