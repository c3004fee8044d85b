// Include this first in every distributed test (instead of Catch itself): Debian's libtorch pulls in glog,
// whose one-argument CHECK macro would otherwise replace Catch's. Torch's headers come first, glog's CHECK
// is dropped, then Catch defines its own (glog's header is include-guarded, so later includes keep it out).
//
// Catch2 v2 assertions are not thread-safe: rank jobs return or record what they saw, and the test's own
// thread checks it after the run.
#pragma once

#include <ATen/ATen.h>

#undef CHECK
#include <catch2/catch.hpp>
