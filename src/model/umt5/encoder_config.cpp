#include "model/umt5/encoder_config.hpp"

#include <string>

#include "talkgen/error.hpp"

namespace talkgen::model::umt5 {

void EncoderConfig::validate() const {
  if (vocab <= 0 || dim <= 0 || dim_attn <= 0 || dim_ffn <= 0 || num_heads <= 0 || num_layers <= 0 ||
      num_buckets < 4 || max_dist <= 0)
    fail(ErrorCode::invalid_argument,
         "umT5 config has a non-positive size (vocab {}, dim {}, dim_attn {}, dim_ffn {}, heads {}, layers {}, "
         "buckets {}, max_dist {}): expected positive sizes and at least 4 buckets",
         vocab, dim, dim_attn, dim_ffn, num_heads, num_layers, num_buckets, max_dist);
  if (dim_attn % num_heads != 0)
    fail(ErrorCode::invalid_argument, "umT5 config: dim_attn {} is not divisible by num_heads {}", dim_attn, num_heads);
}

namespace {

std::vector<int64_t> shape_of(const io::TensorSource& source, const std::string& key, size_t rank) {
  if (!source.contains(key))
    fail(ErrorCode::checkpoint_mismatch,
         "'{}' has no tensor '{}': expected a umT5 encoder checkpoint (models_t5_umt5-xxl-enc-bf16.pth)",
         source.describe(), key);
  for (const auto& info : source.list())
    if (info.name == key) {
      if (info.shape.size() != rank)
        fail(ErrorCode::checkpoint_mismatch, "'{}': tensor '{}' has {} dimensions, expected {}", source.describe(),
             key, info.shape.size(), rank);
      return info.shape;
    }
  fail(ErrorCode::internal, "'{}' lists no '{}' although it contains it", source.describe(), key);
}

}  // namespace

EncoderConfig infer_encoder_config(const io::TensorSource& source) {
  EncoderConfig c;
  const auto emb = shape_of(source, "token_embedding.weight", 2);
  c.vocab = emb[0];
  c.dim = emb[1];
  c.dim_attn = shape_of(source, "blocks.0.attn.q.weight", 2)[0];
  c.dim_ffn = shape_of(source, "blocks.0.ffn.fc1.weight", 2)[0];
  const auto pos = shape_of(source, "blocks.0.pos_embedding.embedding.weight", 2);
  c.num_buckets = pos[0];
  c.num_heads = pos[1];
  c.num_layers = 0;
  while (source.contains("blocks." + std::to_string(c.num_layers) + ".attn.q.weight")) ++c.num_layers;
  c.validate();
  return c;
}

}  // namespace talkgen::model::umt5
