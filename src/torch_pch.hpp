// Precompiled header for the parts built on libtorch: parsing ATen and torch::nn once instead of in
// every translation unit keeps a 2-core CI build well inside its time limit.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>
