// umT5 encoder hyper-parameters, and reading them from a checkpoint's tensor shapes.
#pragma once

#include <cstdint>

#include "model/io/tensor_source.hpp"

namespace talkgen::model::umt5 {

struct EncoderConfig {
  int64_t vocab = 256384;
  int64_t dim = 4096;
  int64_t dim_attn = 4096;
  int64_t dim_ffn = 10240;
  int64_t num_heads = 64;
  int64_t num_layers = 24;
  int64_t num_buckets = 32;
  int64_t max_dist = 128;  // T5RelativeEmbedding's default; not stored in the checkpoint

  /// wan/modules/t5.py umt5_xxl(encoder_only=True).
  static EncoderConfig umt5_xxl() { return {}; }
  /// Throws Error(invalid_argument) if the sizes are inconsistent (heads not dividing dim_attn, zero sizes).
  void validate() const;
};

/// Reads vocab/dim/dim_attn/dim_ffn/num_heads/num_buckets/num_layers from the shapes of token_embedding,
/// blocks.0.{attn.q,ffn.fc1,pos_embedding.embedding} and the count of blocks.N. Throws
/// Error(checkpoint_mismatch) naming the key when the file is not a T5 encoder with per-block positions.
EncoderConfig infer_encoder_config(const io::TensorSource& source);

}  // namespace talkgen::model::umt5
