// Pipeline: the models of one InfiniteTalk instance, loaded once, and run(job) -> talking-head MP4.
//
//   pipeline::Pipeline p(pipeline::load_models(paths, options));     // or make_demo_models()
//   GenerateResult r = p.run(job, {.progress = on_progress});
//
// run() follows the reference's generate_infinitetalk: it validates the whole job first (media, settings,
// output path), then computes what is fixed for the job once (text contexts for the prompt and the
// negative prompt, the audio embedding, CLIP tokens and the reference-image latent), then per chunk:
// sampling (flow matching + guidance), VAE decode, colour match, and hands the new frames to the Encoder
// with the original speech as the sound track. The Encoder works on a background thread (encode_worker.hpp),
// so chunk k is encoded while chunk k+1 samples. With RunHooks::comm the DiT runs sequence-parallel. One run
// at a time per Pipeline (models hold no job state, but they share the device); make several Pipelines over
// shared models for concurrency. The sampling itself (schedule, guidance, noise) is in src/samplers/.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <ATen/ATen.h>

#include "distributed/distributed_runner.hpp"
#include "model/clip/vision_encoder.hpp"
#include "model/dit/dit_model.hpp"
#include "model/umt5/encoder.hpp"
#include "model/umt5/tokenizer.hpp"
#include "model/vae/wan_vae.hpp"
#include "model/wav2vec2/audio_encoder.hpp"
#include "samplers/noise_source.hpp"
#include "talkgen/generate.hpp"

namespace talkgen::pipeline {

/// wan/configs/wan_multitalk_14B.py's sample_neg_prompt (used when a job gives no negative prompt).
extern const char* const kDefaultNegativePrompt;

struct PipelineModels {
  std::shared_ptr<model::wav2vec2::AudioEncoder> audio_encoder;
  std::shared_ptr<model::clip::ClipVisionEncoder> clip;
  std::shared_ptr<model::umt5::Tokenizer> tokenizer;
  model::umt5::Encoder text_encoder{nullptr};
  std::shared_ptr<model::vae::WanVae> vae;
  std::shared_ptr<model::dit::DitModel> dit;
  /// The distillation LoRA merged into the DiT (decides which quality profiles run).
  DistillLora lora = DistillLora::none;
  /// Random weights (the demo model): every result says so, and any profile runs.
  bool untrained = false;
  std::string name = "InfiniteTalk-14B";
  /// Output sizes are the reference's buckets divided by this (see scaled_bucket); 1 for real models.
  int bucket_divisor = 1;
};

/// What the caller of a job passes besides its options: the progress callback and, for a sequence-parallel
/// run, the rank's communicator.
struct RunHooks {
  GenerateProgressCallback progress;
  /// Sequence-parallel run: every rank of the group calls run() with the same options and its own
  /// communicator (and models on its own device); the DiT splits its tokens over the ranks. Rank 0 alone
  /// decodes, encodes and writes (and reports progress, calls TestHooks::on_frames, dumps frames); the others
  /// return a result without video (no output_path, no mp4; the job's figures otherwise). The job-constant
  /// conditioning is computed on every rank and rank 0's is broadcast; the noise is drawn on every rank from
  /// the same seeded CPU generator; each chunk's motion latents are broadcast from rank 0. So the video
  /// equals the one-device run (fp32: within 1e-5) at any world size.
  /// Cancelling (rank 0's progress callback returns false) aborts the group with Error(cancelled): every
  /// rank stops at its next collective with that code. Any other failure must abort the group too:
  /// DistributedRunner does that for a rank that throws. nullptr: one device.
  Communicator* comm = nullptr;
};

/// Inputs and taps for tests and tools (parity against the reference's recorded draws, frame capture by
/// the benchmarks); a user's job leaves them empty.
struct TestHooks {
  /// Noise to use instead of the seeded CPU generator (e.g. the reference's recorded draws).
  std::unique_ptr<samplers::NoiseSource> noise;
  /// wav2vec2 output to use instead of running the audio encoder: [L, layers, hidden], one row per
  /// video frame; the speech still gives the sound track. One speaker only.
  at::Tensor audio_embedding;
  /// Each chunk's new frames as they are encoded: float32 [3, n, H, W] in [-1, 1], on the CPU (rank 0).
  std::function<void(int chunk, const at::Tensor& frames)> on_frames;
  /// Tiles for GenerateOptions::low_memory decoding instead of model::vae::TileOptions{} (256 px tiles),
  /// e.g. small tiles so a test's small frames are tiled at all.
  std::optional<model::vae::TileOptions> vae_tiling;
};

class Pipeline {
 public:
  /// Checks that the models fit together (text/CLIP/audio/latent widths). Throws Error(invalid_argument)
  /// naming the mismatch, or for a missing model.
  explicit Pipeline(PipelineModels models);

  /// Runs one job. Errors: invalid_argument / unsupported for bad options or media (before any model
  /// runs), cancelled when the progress callback returns false, io_error for the output.
  GenerateResult run(const GenerateOptions& options, RunHooks hooks = {}, TestHooks test = {});

  /// The profile's settings with the job's overrides applied and checked against the loaded LoRA.
  QualitySettings resolve_settings(const GenerateOptions& options) const;

  const PipelineModels& models() const { return models_; }

 private:
  PipelineModels models_;
};

}  // namespace talkgen::pipeline
