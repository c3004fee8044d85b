// Include this first in every pipeline test (instead of Catch itself): Debian's libtorch pulls in glog,
// whose one-argument CHECK macro would otherwise replace Catch's. Torch's headers come first, glog's
// CHECK is dropped, then Catch defines its own (glog's header is include-guarded, so later torch
// includes do not bring it back).
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#undef CHECK
#include <catch2/catch.hpp>
