// Argument checks and shape arithmetic shared by every Communicator implementation, so ThreadComm and
// NcclComm accept and reject exactly the same calls.
#pragma once

#include <cstdint>
#include <string>

#include <ATen/ATen.h>

namespace talkgen::distributed {

/// `dim` of `t` made non-negative; throws Error(invalid_argument) naming `op` when out of range.
int64_t checked_dim(const at::Tensor& t, int64_t dim, const char* op);
/// Throws Error(invalid_argument) when `t` is undefined.
void check_defined(const at::Tensor& t, const char* op);
/// Throws Error(invalid_argument) when `t.size(dim)` does not divide into `world` pieces.
void check_divisible(const at::Tensor& t, int64_t dim, int world, const char* op);
/// "Float [2, 3, 4] on cpu"
std::string describe(const at::Tensor& t);
/// "Float [2, 3, 4]" (no device: ranks legitimately differ there)
std::string shape_text(const at::Tensor& t);

/// [world, ...] stack of pieces along dim 0 -> the same pieces concatenated along `dim` of one piece
/// (cat(pieces, dim) without copying each piece twice).
at::Tensor concat_stacked(const at::Tensor& stacked, int64_t dim);
/// `input` cut into `world` equal pieces along `dim`, stacked along a new dim 0 (a view, not a copy).
at::Tensor split_stacked(const at::Tensor& input, int64_t dim, int world);

}  // namespace talkgen::distributed
