#include "pipeline/pipeline.hpp"

#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>

#include "pipeline/audio_windows.hpp"
#include "pipeline/chunk_plan.hpp"
#include "pipeline/color_match.hpp"
#include "pipeline/conditioning.hpp"
#include "pipeline/encode_worker.hpp"
#include "pipeline/frame_dump.hpp"
#include "pipeline/job_inputs.hpp"
#include "pipeline/progress_tracker.hpp"
#include "pipeline/rank_sync.hpp"
#include "pipeline/speaker_masks.hpp"
#include "pipeline/video_condition.hpp"
#include "samplers/chunk_sampler.hpp"
#include "samplers/guided_denoiser.hpp"
#include "talkgen/encoder.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::pipeline {

const char* const kDefaultNegativePrompt =
    "bright tones, overexposed, static, blurred details, subtitles, style, works, paintings, images, static, "
    "overall gray, worst quality, low quality, JPEG compression residue, ugly, incomplete, extra fingers, poorly "
    "drawn hands, poorly drawn faces, deformed, disfigured, misshapen limbs, fused fingers, still picture, messy "
    "background, three legs, many people in the background, walking backwards";

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

constexpr double kFps = 25.0;

at::Device module_device(torch::nn::Module& m) {
  auto params = m.parameters();
  return params.empty() ? at::Device(at::kCPU) : params.front().device();
}

const char* lora_name(DistillLora lora) { return lora == DistillLora::lightx2v ? "the lightx2v LoRA" : "no LoRA"; }

void require(bool ok, const char* what) {
  if (!ok) fail(ErrorCode::invalid_argument, "pipeline models: {} is missing", what);
}

void check_width(int64_t a, int64_t b, const char* what) {
  if (a != b) fail(ErrorCode::invalid_argument, "pipeline models do not fit together: {} ({} vs {})", what, a, b);
}

// The job-constant text contexts (the reference's context / context_null), [1, L, text_dim] on the DiT.
struct TextContexts {
  at::Tensor prompt, negative;
};

TextContexts encode_text(PipelineModels& m, const std::string& prompt, const std::string& negative) {
  auto batch = m.tokenizer->encode_batch({prompt, negative});
  const at::Device device = module_device(*m.text_encoder);
  auto contexts = m.text_encoder->contexts(batch.ids.to(device), batch.mask.to(device));
  auto to_dit = [&](const at::Tensor& c) { return c.unsqueeze(0).to(m.dit->device(), m.dit->dtype()); };
  return {to_dit(contexts.at(0)), to_dit(contexts.at(1))};
}

// One job through the models: the steps of Pipeline::run, each a member function, the state they hand on
// (conditions, latents, outputs) in members. Sequence-parallel (RunHooks::comm): every rank runs every
// step, in the same order, so the collectives pair up; rank 0 (`lead_`) alone decodes, encodes, writes,
// logs and reports progress.
class JobRun {
 public:
  JobRun(PipelineModels& models, const GenerateOptions& options, QualitySettings settings, RunHooks hooks,
         TestHooks test)
      : models_(models), o_(options), settings_(std::move(settings)), hooks_(std::move(hooks)),
        test_(std::move(test)), comm_(hooks_.comm), lead_(!comm_ || comm_->rank() == 0),
        device_(models.dit->device()), dtype_(models.dit->dtype()) {}

  const ChunkPlan& plan() const { return plan_; }

  /// Step 1: everything that can be wrong with the job, before any model runs; the media decoded and the
  /// chunks planned.
  void check_and_plan() {
    chunk_settings_.frame_num = o_.frames_per_chunk;
    chunk_settings_.motion_frames = o_.motion_frames;
    chunk_settings_.streaming = o_.mode == GenerationMode::streaming;
    chunk_settings_.max_frames = o_.max_frames;
    validate_chunk_settings(chunk_settings_);
    if (!(o_.color_correction >= 0.0 && o_.color_correction <= 1.0))
      fail(ErrorCode::invalid_argument, "colour correction must be between 0 and 1, got {}", o_.color_correction);
    if (o_.seed < 0) fail(ErrorCode::invalid_argument, "seed must be >= 0, got {}", o_.seed);
    guidance_config_.text_scale = settings_.text_guidance;
    guidance_config_.audio_scale = settings_.audio_guidance;
    guidance_config_.use_apg = o_.use_apg;
    guidance_config_.apg_momentum = o_.apg_momentum;
    guidance_config_.apg_norm_threshold = o_.apg_norm_threshold;
    { const samplers::Guidance check(guidance_config_); }  // validates the numbers
    const at::Tensor& injected = test_.audio_embedding;
    if (!models_.audio_encoder && !injected.defined())
      fail(ErrorCode::invalid_argument, "these pipeline models have no audio encoder; pass an audio embedding");
    if (injected.defined()) {
      const auto& d = models_.dit->config();
      if (injected.dim() != 3 || injected.size(1) != d.audio_blocks || injected.size(2) != d.audio_channels)
        fail(ErrorCode::invalid_argument, "injected audio embedding must be [L, {}, {}]", d.audio_blocks,
             d.audio_channels);
    }

    inputs_ = load_job_inputs(o_, models_.bucket_divisor);
    if (inputs_.two_speakers() && injected.defined())
      fail(ErrorCode::invalid_argument, "an injected audio embedding is for one speaker; this job has two");
    plan_ = plan_chunks(injected.defined() ? injected.size(0) : inputs_.audio_frames, chunk_settings_);
  }

  /// Step 2 (rank 0): the MP4 (encoded on a worker thread, chunk k while chunk k+1 samples; the output
  /// folder is checked here, before the models run), the frame dump, the job's log line, the progress.
  void open_outputs() {
    const int64_t height = inputs_.size.height, width = inputs_.size.width;
    if (lead_) {
      EncoderOptions encoder_options = o_.encoder;
      encoder_options.fps = kFps;  // the model's frame rate (the audio windows assume 25 fps)
      Encoder mp4 = o_.output_path.empty() ? Encoder::to_memory(encoder_options)
                                           : Encoder::to_file(o_.output_path, encoder_options);
      mp4.set_audio(inputs_.track);
      encoder_.emplace(std::move(mp4), /*max_queued=*/1);
      if (!o_.dump_frames.empty())
        dump_.emplace(o_.dump_frames, "frames", std::vector<int64_t>{plan_.output_frames, 3, height, width},
                      std::map<std::string, std::string>{{"seed", std::to_string(o_.seed)},
                                                         {"model", models_.name},
                                                         {"untrained", models_.untrained ? "true" : "false"}});
      if (models_.untrained)
        log_warn("model '{}' is UNTRAINED (random weights): the video shows noise, not a talking face", models_.name);
      log_info("generating {} frames ({:.2f} s) at {}x{} in {} chunk(s), {} steps x {} forwards, seed {}{}{}",
               plan_.output_frames, plan_.output_frames / kFps, width, height, plan_.chunks.size(), settings_.steps,
               settings_.forwards_per_step(), o_.seed,
               inputs_.two_speakers() ? fmt::format(", two speakers ({})", to_string(o_.speaker_timing))
                                      : std::string(),
               comm_ && comm_->world_size() > 1 ? fmt::format(", sequence-parallel over {} ranks", comm_->world_size())
                                                : std::string());
    }
    progress_.emplace(lead_ ? cancel_aborts_group(hooks_.progress, comm_) : GenerateProgressCallback(),
                      static_cast<int>(plan_.chunks.size()), settings_.steps, started_);
    progress_->report(GenerateProgress::Stage::preparing, 0, 0);
  }

  /// Step 3: what stays fixed for the whole job: the text contexts, the audio embedding, the CLIP tokens and
  /// the reference-image latent, then rank 0's values of them on every rank.
  void encode_job_conditions() {
    const std::string negative = o_.negative_prompt.empty() ? kDefaultNegativePrompt : o_.negative_prompt;
    text_ = encode_text(models_, o_.prompt, negative);

    embedding_ = test_.audio_embedding.defined() ? test_.audio_embedding
                                                 : models_.audio_encoder->embed(inputs_.speech.samples);
    embedding_ = extend_audio_embedding(embedding_.to(device_, at::kFloat), plan_.padding_frames);
    // Two speakers: speaker 2's embedding (as long as speaker 1's: the tracks were laid out to one length).
    if (inputs_.two_speakers())
      embedding2_ = extend_audio_embedding(
          models_.audio_encoder->embed(inputs_.speech2.samples).to(device_, at::kFloat), plan_.padding_frames);

    const at::Tensor cond_image = image_to_condition(inputs_.portrait);  // [1, 3, 1, H, W], CPU
    color_reference_ = cond_image.to(models_.vae->device());
    clip_tokens_ = models_.clip->encode(cond_image.select(2, 0)).to(device_, dtype_);
    const at::Tensor image_latent =
        models_.vae->encode(padded_condition_video(cond_image, chunk_settings_.frame_num));
    lat_t_ = image_latent.size(2);
    lat_h_ = image_latent.size(3);
    lat_w_ = image_latent.size(4);
    y_ = make_y(first_frame_mask(chunk_settings_.frame_num, lat_h_, lat_w_, image_latent.options()), image_latent)
             .to(device_, dtype_);
    motion_latents_ = models_.vae->encode(cond_image);  // the portrait: the first chunk's condition
    if (inputs_.two_speakers())
      speaker_regions_ =
          speaker_masks(inputs_.source_size, o_.speaker1_box, o_.speaker2_box, inputs_.size, lat_h_, lat_w_)
              .to(device_);
    // Every rank computed these; all take rank 0's, so the DiT's ranks agree bit for bit (rank_sync.hpp).
    text_.prompt = from_rank0(comm_, text_.prompt, device_);
    text_.negative = from_rank0(comm_, text_.negative, device_);
    embedding_ = from_rank0(comm_, embedding_, device_);
    if (embedding2_.defined()) embedding2_ = from_rank0(comm_, embedding2_, device_);
    clip_tokens_ = from_rank0(comm_, clip_tokens_, device_);
    y_ = from_rank0(comm_, y_, device_);
    motion_latents_ = from_rank0(comm_, motion_latents_, device_);
    seconds_preparing_ = seconds_since(started_);
    progress_->report(GenerateProgress::Stage::preparing, 0, 0);

    noise_ = test_.noise ? std::move(test_.noise) : samplers::make_seeded_noise(o_.seed);
    schedule_.emplace(settings_.steps, settings_.shift, device_);
    if (o_.low_memory) decode_options_.tiling = test_.vae_tiling ? *test_.vae_tiling : model::vae::TileOptions{};
  }

  /// Step 4, per chunk: sample its latent, then (rank 0) decode it and hand its new frames to the encoder;
  /// the next chunk's motion latents go from rank 0 to the others.
  void run_chunk(const ChunkSpec& chunk) {
    const auto chunk_started = Clock::now();
    if (inputs_.video && chunk.index > 0) condition_on_video_frame(chunk);
    const at::Tensor latent = sample(chunk);
    seconds_sampling_ += seconds_since(chunk_started);

    const bool last = &chunk == &plan_.chunks.back();
    const int64_t fresh =
        std::min<int64_t>(chunk_settings_.frame_num - chunk.keep_from, plan_.output_frames - frames_out_);
    if (lead_) decode_and_emit(chunk, latent, last, fresh);
    if (!last && comm_) share_motion_latents();
    if (fresh > 0) frames_out_ += fresh;
    progress_->chunk_done(chunk.index);
  }

  /// Step 5: the MP4 and the frame dump finished, and the job's figures (ranks other than 0: no video).
  GenerateResult finish() {
    if (frames_out_ != plan_.output_frames)
      fail(ErrorCode::internal, "generated {} frames, planned {}", frames_out_, plan_.output_frames);
    if (encoder_) encoder_->finish();
    if (dump_) dump_->finish();

    GenerateResult result;
    result.output_path = lead_ ? o_.output_path : std::string();
    if (lead_ && o_.output_path.empty()) result.mp4 = encoder_->take_buffer();
    result.frames = static_cast<int>(frames_out_);
    result.width = inputs_.size.width;
    result.height = inputs_.size.height;
    result.fps = kFps;
    result.duration_seconds = frames_out_ / kFps;
    result.chunks = static_cast<int>(plan_.chunks.size());
    result.seed = o_.seed;
    result.settings = settings_;
    result.untrained_model = models_.untrained;
    result.model_name = models_.name;
    result.seconds_total = seconds_since(started_);
    result.seconds_sampling = seconds_sampling_;
    result.seconds_decoding = seconds_decoding_;
    result.seconds_preparing = seconds_preparing_;
    result.seconds_encoding = encoder_ ? encoder_->seconds_waited() : 0.0;
    progress_->report(GenerateProgress::Stage::done, result.chunks - 1, settings_.steps);
    return result;
  }

 private:
  // Dubbing: the video's frame at the chunk's start conditions the chunk (CLIP tokens and y), encoded on
  // every rank; all take rank 0's, as the job's conditions.
  void condition_on_video_frame(const ChunkSpec& chunk) {
    ImageConditions c = encode_image_conditions(models_, inputs_.video->frame_for_chunk(chunk.audio_start),
                                                chunk_settings_.frame_num, device_, dtype_);
    clip_tokens_ = from_rank0(comm_, c.clip_tokens, device_);
    y_ = from_rank0(comm_, c.y, device_);
  }

  // The chunk's latent [1, z, F, h, w]: its audio windows and the job's conditions through the guided DiT
  // forwards (sequence-parallel over comm_, batched when asked), every step of the schedule.
  at::Tensor sample(const ChunkSpec& chunk) {
    // [1, speakers, frames, window, blocks, channels]: the speakers on the reference's audio batch axis.
    at::Tensor audio = audio_windows(embedding_, chunk.audio_start, chunk.audio_end).unsqueeze(0);
    if (embedding2_.defined())
      audio = at::cat({audio, audio_windows(embedding2_, chunk.audio_start, chunk.audio_end).unsqueeze(0)}, 0);
    samplers::GuidanceConditions conditions;
    conditions.prompt = text_.prompt;
    conditions.negative = text_.negative;
    conditions.audio = audio.unsqueeze(0).to(dtype_);
    conditions.speaker_regions = speaker_regions_;
    conditions.clip = clip_tokens_;
    conditions.y = y_;
    samplers::Guidance guidance(guidance_config_);  // fresh APG momentum per chunk, as the reference
    const samplers::GuidedDenoiser denoise(*models_.dit, guidance.forwards(), conditions, o_.batch_guidance, comm_);

    samplers::ChunkSamplerInputs sampler_inputs;
    const int64_t z_dim = models_.vae->config().z_dim;
    sampler_inputs.noise = noise_->next({z_dim, lat_t_, lat_h_, lat_w_}).unsqueeze(0).to(device_);
    sampler_inputs.motion_latents = motion_latents_.to(device_);
    sampler_inputs.first_chunk = chunk.index == 0;
    sampler_inputs.chunk_index = chunk.index;
    return samplers::sample_chunk(
        denoise.step_denoiser(), *schedule_, guidance, *noise_, sampler_inputs,
        [&](int done) { progress_->report(GenerateProgress::Stage::sampling, chunk.index, done); });
  }

  // Rank 0: the VAE decode, colour matching, the next chunk's motion latents (the last motion frames,
  // colour-corrected, re-encoded), and the chunk's `fresh` new frames to the encoder, dump and test hook.
  void decode_and_emit(const ChunkSpec& chunk, const at::Tensor& latent, bool last, int64_t fresh) {
    throw_if_group_failed(comm_, "decoding");  // another rank failed: stop before the long decode
    const auto decode_started = Clock::now();
    progress_->report(GenerateProgress::Stage::decoding, chunk.index, settings_.steps);
    at::Tensor video = models_.vae->decode(latent, decode_options_);  // [1, 3, F, H, W] in [-1, 1]
    if (o_.color_correction > 0) video = match_and_blend_colors(video, color_reference_, o_.color_correction);
    if (!last) {
      const int64_t motion_frames = chunk_settings_.motion_frames;
      motion_latents_ =
          models_.vae->encode(video.narrow(2, chunk_settings_.frame_num - motion_frames, motion_frames));
    }
    seconds_decoding_ += seconds_since(decode_started);
    if (fresh <= 0) return;
    progress_->report(GenerateProgress::Stage::encoding, chunk.index, settings_.steps);
    at::Tensor frames = video.squeeze(0).narrow(1, chunk.keep_from, fresh).to(at::kCPU, at::kFloat).contiguous();
    encoder_->push(frames);  // encoded while the next chunk samples
    if (dump_) dump_->append(frames.transpose(0, 1));
    if (test_.on_frames) test_.on_frames(chunk.index, frames);
  }

  // Only rank 0 decoded: the others receive the next chunk's motion latents (their shape is known).
  void share_motion_latents() {
    const at::Tensor shaped =
        lead_ ? motion_latents_
              : at::empty({1, models_.vae->config().z_dim, (chunk_settings_.motion_frames - 1) / 4 + 1, lat_h_, lat_w_},
                          at::TensorOptions().dtype(at::kFloat).device(device_));
    motion_latents_ = from_rank0(comm_, shaped, device_);
  }

  PipelineModels& models_;
  const GenerateOptions& o_;
  const QualitySettings settings_;
  RunHooks hooks_;
  TestHooks test_;
  Communicator* const comm_;
  const bool lead_;
  const at::Device device_;
  const at::ScalarType dtype_;
  const Clock::time_point started_ = Clock::now();

  // Step 1
  ChunkSettings chunk_settings_;
  samplers::GuidanceConfig guidance_config_;
  JobInputs inputs_;
  ChunkPlan plan_;
  // Step 2
  std::optional<EncodeWorker> encoder_;
  std::optional<FrameDumpWriter> dump_;
  std::optional<ProgressTracker> progress_;
  // Step 3
  TextContexts text_;
  at::Tensor embedding_, embedding2_;  // [L, layers, hidden] float32; embedding2_: two speakers only
  at::Tensor color_reference_;         // the portrait [1, 3, 1, H, W] on the VAE's device
  at::Tensor clip_tokens_, y_;         // the conditions of the current chunk (dubbing: its video frame's)
  at::Tensor motion_latents_;          // the current chunk's condition latent frames
  at::Tensor speaker_regions_;         // two speakers only
  int64_t lat_t_ = 0, lat_h_ = 0, lat_w_ = 0;
  double seconds_preparing_ = 0;
  std::unique_ptr<samplers::NoiseSource> noise_;
  std::optional<samplers::FlowSchedule> schedule_;
  model::vae::DecodeOptions decode_options_;
  // Step 4
  int64_t frames_out_ = 0;
  double seconds_sampling_ = 0, seconds_decoding_ = 0;
};

}  // namespace

Pipeline::Pipeline(PipelineModels models) : models_(std::move(models)) {
  require(models_.dit != nullptr, "the DiT");
  require(models_.vae != nullptr, "the VAE");
  require(models_.clip != nullptr, "the CLIP vision encoder");
  require(models_.tokenizer != nullptr, "the umT5 tokenizer");
  require(!models_.text_encoder.is_empty(), "the umT5 text encoder");
  if (models_.bucket_divisor < 1) fail(ErrorCode::invalid_argument, "bucket divisor must be >= 1");
  const auto& d = models_.dit->config();
  check_width(models_.text_encoder->config().dim, d.text_dim, "umT5 width vs DiT text_dim");
  check_width(models_.clip->config().dim, d.clip_dim, "CLIP width vs DiT clip_dim");
  check_width(models_.clip->config().tokens(), d.clip_tokens, "CLIP tokens vs DiT clip_tokens");
  check_width(models_.vae->config().z_dim, d.out_dim, "VAE latent channels vs DiT out_dim");
  check_width(2 * models_.vae->config().z_dim + 4, d.in_dim, "2 x VAE latent channels + 4 (mask) vs DiT in_dim");
  // Frame sizes are multiples of 16 (the buckets): one DiT token per VAE stride x patch pixels.
  check_width(models_.vae->config().spatial_stride() * d.patch_size[1], 16, "VAE stride x DiT patch height");
  check_width(models_.vae->config().spatial_stride() * d.patch_size[2], 16, "VAE stride x DiT patch width");
  if (models_.audio_encoder) {
    check_width(models_.audio_encoder->config().num_hidden_layers, d.audio_blocks,
                "wav2vec2 layers vs DiT audio_blocks");
    check_width(models_.audio_encoder->config().hidden_size, d.audio_channels, "wav2vec2 width vs DiT audio_channels");
  }
}

QualitySettings Pipeline::resolve_settings(const GenerateOptions& o) const {
  QualitySettings s = quality_settings(o.quality, o.resolution);
  const bool overridden = o.steps || o.shift || o.text_guidance || o.audio_guidance;
  if (o.steps) s.steps = *o.steps;
  if (o.shift) s.shift = *o.shift;
  if (o.text_guidance) s.text_guidance = *o.text_guidance;
  if (o.audio_guidance) s.audio_guidance = *o.audio_guidance;
  if (s.steps < 1 || s.steps > 1000)
    fail(ErrorCode::invalid_argument, "sampling steps must be between 1 and 1000, got {}", s.steps);
  if (!std::isfinite(s.shift) || s.shift <= 0)
    fail(ErrorCode::invalid_argument, "sampling shift must be a positive number, got {}", s.shift);
  for (double g : {s.text_guidance, s.audio_guidance})
    if (!std::isfinite(g) || g < 0)
      fail(ErrorCode::invalid_argument, "guidance scales must be finite and >= 0, got {}", g);
  if (s.lora != models_.lora && !models_.untrained) {
    if (!overridden)
      fail(ErrorCode::unsupported,
           "quality '{}' needs {} merged into the DiT, but these models were loaded with {}; load them with it, "
           "choose quality '{}', or set steps and guidance explicitly",
           to_string(o.quality), lora_name(s.lora), lora_name(models_.lora),
           models_.lora == DistillLora::none ? "quality" : "balanced");
    log_warn("quality '{}' assumes {}, the models have {}; running the explicit settings anyway",
             to_string(o.quality), lora_name(s.lora), lora_name(models_.lora));
  }
  s.lora = models_.lora;
  return s;
}

GenerateResult Pipeline::run(const GenerateOptions& options, RunHooks hooks, TestHooks test) {
  c10::InferenceMode inference_mode;
  JobRun job(models_, options, resolve_settings(options), std::move(hooks), std::move(test));
  job.check_and_plan();
  job.open_outputs();
  job.encode_job_conditions();
  for (const ChunkSpec& chunk : job.plan().chunks) job.run_chunk(chunk);
  return job.finish();
}

}  // namespace talkgen::pipeline
