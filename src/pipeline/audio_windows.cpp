#include "pipeline/audio_windows.hpp"

#include <algorithm>

#include "talkgen/error.hpp"

namespace talkgen::pipeline {

at::Tensor extend_audio_embedding(const at::Tensor& embedding, int64_t padding) {
  if (padding < 0) fail(ErrorCode::internal, "negative audio padding {}", padding);
  if (padding == 0) return embedding;
  const int64_t rows = embedding.size(0);
  const int64_t take = std::min(padding, rows);
  at::Tensor tail = embedding.narrow(0, rows - take, take).flip({0});
  return at::cat({embedding, tail}, 0);
}

at::Tensor audio_windows(const at::Tensor& embedding, int64_t start, int64_t end, int64_t radius) {
  if (embedding.dim() < 1 || embedding.size(0) < 1)
    fail(ErrorCode::invalid_argument, "audio embedding must have at least one frame");
  if (end <= start) fail(ErrorCode::internal, "empty audio window range [{}, {})", start, end);
  const auto index_options = at::TensorOptions().dtype(at::kLong).device(embedding.device());
  at::Tensor centres = at::arange(start, end, index_options).unsqueeze(1);
  at::Tensor offsets = at::arange(-radius, radius + 1, index_options).unsqueeze(0);
  at::Tensor indices = (centres + offsets).clamp(0, embedding.size(0) - 1);
  return embedding.index_select(0, indices.reshape({-1}))
      .reshape([&] {
        std::vector<int64_t> shape{end - start, 2 * radius + 1};
        for (int64_t d = 1; d < embedding.dim(); ++d) shape.push_back(embedding.size(d));
        return shape;
      }());
}

}  // namespace talkgen::pipeline
