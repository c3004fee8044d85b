// Catch for tests that use libtorch: include this first (instead of Catch itself). Debian's libtorch pulls in
// glog, whose one-argument CHECK macro would otherwise replace Catch's. Torch's headers come first, glog's
// CHECK is dropped, then Catch defines its own (glog's header is include-guarded, so later torch includes do
// not bring it back).
//
// Catch2 v2 assertions are not thread-safe: code running on rank threads returns or records what it saw, and
// the test's own thread checks it afterwards.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#undef CHECK
#include <catch2/catch.hpp>
