#include "pipeline/pipeline.hpp"

#include <chrono>
#include <cmath>
#include <map>
#include <optional>

#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>

#include "pipeline/audio_windows.hpp"
#include "pipeline/chunk_plan.hpp"
#include "pipeline/chunk_sampler.hpp"
#include "pipeline/color_match.hpp"
#include "pipeline/conditioning.hpp"
#include "pipeline/encode_worker.hpp"
#include "pipeline/frame_dump.hpp"
#include "pipeline/guided_denoiser.hpp"
#include "pipeline/job_inputs.hpp"
#include "pipeline/progress_tracker.hpp"
#include "pipeline/rank_sync.hpp"
#include "pipeline/speaker_masks.hpp"
#include "pipeline/video_condition.hpp"
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
    check_width(models_.audio_encoder->config().num_hidden_layers, d.audio_blocks, "wav2vec2 layers vs DiT audio_blocks");
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

GenerateResult Pipeline::run(const GenerateOptions& o, RunHooks hooks) {
  c10::InferenceMode inference_mode;
  const auto started = Clock::now();

  // ---- 1. Everything that can be wrong with the job, before any model runs. ----
  const QualitySettings settings = resolve_settings(o);
  ChunkSettings chunk_settings;
  chunk_settings.frame_num = o.frames_per_chunk;
  chunk_settings.motion_frames = o.motion_frames;
  chunk_settings.streaming = o.mode == GenerationMode::streaming;
  chunk_settings.max_frames = o.max_frames;
  validate_chunk_settings(chunk_settings);
  if (!(o.color_correction >= 0.0 && o.color_correction <= 1.0))
    fail(ErrorCode::invalid_argument, "colour correction must be between 0 and 1, got {}", o.color_correction);
  if (o.seed < 0) fail(ErrorCode::invalid_argument, "seed must be >= 0, got {}", o.seed);
  GuidanceConfig guidance_config;
  guidance_config.text_scale = settings.text_guidance;
  guidance_config.audio_scale = settings.audio_guidance;
  guidance_config.use_apg = o.use_apg;
  guidance_config.apg_momentum = o.apg_momentum;
  guidance_config.apg_norm_threshold = o.apg_norm_threshold;
  { const Guidance check(guidance_config); }  // validates the numbers
  if (!models_.audio_encoder && !hooks.audio_embedding.defined())
    fail(ErrorCode::invalid_argument, "these pipeline models have no audio encoder; pass an audio embedding");
  if (hooks.audio_embedding.defined()) {
    const auto& d = models_.dit->config();
    if (hooks.audio_embedding.dim() != 3 || hooks.audio_embedding.size(1) != d.audio_blocks ||
        hooks.audio_embedding.size(2) != d.audio_channels)
      fail(ErrorCode::invalid_argument, "injected audio embedding must be [L, {}, {}]", d.audio_blocks,
           d.audio_channels);
  }

  JobInputs inputs = load_job_inputs(o, models_.bucket_divisor);
  const int64_t audio_frames = hooks.audio_embedding.defined() ? hooks.audio_embedding.size(0) : inputs.audio_frames;
  const ChunkPlan plan = plan_chunks(audio_frames, chunk_settings);
  const int64_t height = inputs.size.height, width = inputs.size.width;

  // Sequence-parallel (RunHooks::comm): rank 0 alone decodes, encodes, writes, logs and reports progress.
  Communicator* const comm = hooks.comm;
  const bool lead = !comm || comm->rank() == 0;
  // Encoding runs on a worker thread, chunk k while chunk k+1 samples (one chunk queued at most).
  std::optional<EncodeWorker> encoder;
  if (lead) {
    EncoderOptions encoder_options = o.encoder;
    encoder_options.fps = kFps;  // the model's frame rate (the audio windows assume 25 fps)
    Encoder mp4 = o.output_path.empty() ? Encoder::to_memory(encoder_options)
                                        : Encoder::to_file(o.output_path, encoder_options);
    mp4.set_audio(inputs.track);
    encoder.emplace(std::move(mp4), /*max_queued=*/1);
  }
  std::optional<FrameDumpWriter> dump;
  if (lead && !o.dump_frames.empty())
    dump.emplace(o.dump_frames, "frames", std::vector<int64_t>{plan.output_frames, 3, height, width},
                 std::map<std::string, std::string>{{"seed", std::to_string(o.seed)},
                                                    {"model", models_.name},
                                                    {"untrained", models_.untrained ? "true" : "false"}});
  if (models_.untrained && lead)
    log_warn("model '{}' is UNTRAINED (random weights): the video shows noise, not a talking face", models_.name);
  if (lead)
    log_info("generating {} frames ({:.2f} s) at {}x{} in {} chunk(s), {} steps x {} forwards, seed {}{}{}",
             plan.output_frames, plan.output_frames / kFps, width, height, plan.chunks.size(), settings.steps,
             settings.forwards_per_step(), o.seed,
             inputs.two_speakers() ? fmt::format(", two speakers ({})", to_string(o.speaker_timing)) : std::string(),
             comm && comm->world_size() > 1 ? fmt::format(", sequence-parallel over {} ranks", comm->world_size())
                                            : std::string());

  ProgressTracker progress(lead ? cancel_aborts_group(hooks.progress, comm) : GenerateProgressCallback(),
                           static_cast<int>(plan.chunks.size()), settings.steps, started);
  progress.report(GenerateProgress::Stage::preparing, 0, 0);

  // ---- 2. What stays fixed for the whole job: text, audio embedding, CLIP tokens, image latent. ----
  model::dit::DitModel& dit = *models_.dit;
  const at::Device device = dit.device();
  const at::ScalarType dtype = dit.dtype();
  const std::string negative = o.negative_prompt.empty() ? kDefaultNegativePrompt : o.negative_prompt;
  TextContexts text = encode_text(models_, o.prompt, negative);

  at::Tensor embedding = hooks.audio_embedding.defined() ? hooks.audio_embedding
                                                         : models_.audio_encoder->embed(inputs.speech.samples);
  embedding = extend_audio_embedding(embedding.to(device, at::kFloat), plan.padding_frames);
  // Two speakers: speaker 2's embedding (as long as speaker 1's: the tracks were laid out to one length).
  at::Tensor embedding2;
  if (inputs.two_speakers()) {
    if (hooks.audio_embedding.defined())
      fail(ErrorCode::invalid_argument, "an injected audio embedding is for one speaker; this job has two");
    embedding2 = extend_audio_embedding(models_.audio_encoder->embed(inputs.speech2.samples).to(device, at::kFloat),
                                        plan.padding_frames);
  }

  const at::Tensor cond_image = image_to_condition(inputs.portrait);  // [1, 3, 1, H, W], CPU
  const at::Tensor color_reference = cond_image.to(models_.vae->device());
  at::Tensor clip_tokens = models_.clip->encode(cond_image.select(2, 0)).to(device, dtype);
  const int64_t frame_num = chunk_settings.frame_num;
  const at::Tensor image_latent = models_.vae->encode(padded_condition_video(cond_image, frame_num));
  const int64_t lat_t = image_latent.size(2), lat_h = image_latent.size(3), lat_w = image_latent.size(4);
  at::Tensor y = make_y(first_frame_mask(frame_num, lat_h, lat_w, image_latent.options()), image_latent)
                     .to(device, dtype);
  at::Tensor motion_latents = models_.vae->encode(cond_image);  // the portrait: the first chunk's condition
  const at::Tensor speaker_regions =
      inputs.two_speakers()
          ? speaker_masks(inputs.source_size, o.speaker1_box, o.speaker2_box, inputs.size, lat_h, lat_w).to(device)
          : at::Tensor();
  // Every rank computed these; all take rank 0's, so the DiT's ranks agree bit for bit (rank_sync.hpp).
  text.prompt = from_rank0(comm, text.prompt, device);
  text.negative = from_rank0(comm, text.negative, device);
  embedding = from_rank0(comm, embedding, device);
  if (embedding2.defined()) embedding2 = from_rank0(comm, embedding2, device);
  clip_tokens = from_rank0(comm, clip_tokens, device);
  y = from_rank0(comm, y, device);
  motion_latents = from_rank0(comm, motion_latents, device);
  const double seconds_preparing = seconds_since(started);
  progress.report(GenerateProgress::Stage::preparing, 0, 0);

  // ---- 3. Chunk by chunk. ----
  std::unique_ptr<NoiseSource> noise = hooks.noise ? std::move(hooks.noise) : make_seeded_noise(o.seed);
  const FlowSchedule schedule(settings.steps, settings.shift, device);
  const int64_t z_dim = models_.vae->config().z_dim;
  int64_t frames_out = 0;
  double seconds_sampling = 0, seconds_decoding = 0;
  model::vae::DecodeOptions decode_options;
  if (o.low_memory) decode_options.tiling = hooks.vae_tiling ? *hooks.vae_tiling : model::vae::TileOptions{};

  for (const ChunkSpec& chunk : plan.chunks) {
    const auto chunk_started = Clock::now();
    if (inputs.video && chunk.index > 0) {  // dubbing: the video's frame at the chunk's start conditions it
      ImageConditions c = encode_image_conditions(models_, inputs.video->frame_for_chunk(chunk.audio_start),
                                                  frame_num, device, dtype);
      clip_tokens = c.clip_tokens;
      y = c.y;
    }
    // [1, speakers, frames, window, blocks, channels]: the speakers on the reference's audio batch axis.
    at::Tensor audio = audio_windows(embedding, chunk.audio_start, chunk.audio_end).unsqueeze(0);
    if (embedding2.defined())
      audio = at::cat({audio, audio_windows(embedding2, chunk.audio_start, chunk.audio_end).unsqueeze(0)}, 0);
    audio = audio.unsqueeze(0).to(dtype);
    Guidance guidance(guidance_config);  // fresh APG momentum per chunk, as the reference
    GuidanceConditions conditions;
    conditions.prompt = text.prompt;
    conditions.negative = text.negative;
    conditions.audio = audio;
    conditions.speaker_regions = speaker_regions;
    // A dubbed chunk's own condition image was encoded on every rank: take rank 0's, as above.
    const bool chunk_image = inputs.video && chunk.index > 0;
    conditions.clip = chunk_image ? from_rank0(comm, clip_tokens, device) : clip_tokens;
    conditions.y = chunk_image ? from_rank0(comm, y, device) : y;
    // The DiT forwards: sequence-parallel over `comm`, the guidance forwards batched when asked.
    const GuidedDenoiser denoise(dit, guidance.forwards(), conditions, o.batch_guidance, comm);

    ChunkSamplerInputs sampler_inputs;
    sampler_inputs.noise = noise->next({z_dim, lat_t, lat_h, lat_w}).unsqueeze(0).to(device);
    sampler_inputs.motion_latents = motion_latents.to(device);
    sampler_inputs.first_chunk = chunk.index == 0;
    sampler_inputs.chunk_index = chunk.index;
    const at::Tensor latent =
        sample_chunk(denoise.step_denoiser(), schedule, guidance, *noise, sampler_inputs,
                     [&](int done) { progress.report(GenerateProgress::Stage::sampling, chunk.index, done); });
    seconds_sampling += seconds_since(chunk_started);

    const bool last = &chunk == &plan.chunks.back();
    const int64_t fresh = std::min<int64_t>(frame_num - chunk.keep_from, plan.output_frames - frames_out);
    if (lead) {
      throw_if_group_failed(comm, "decoding");  // another rank failed: stop before the long decode
      const auto decode_started = Clock::now();
      progress.report(GenerateProgress::Stage::decoding, chunk.index, settings.steps);
      at::Tensor video = models_.vae->decode(latent, decode_options);  // [1, 3, F, H, W] in [-1, 1]
      if (o.color_correction > 0) video = match_and_blend_colors(video, color_reference, o.color_correction);
      if (!last) {
        // The next chunk's condition: the last motion frames of this one, colour-corrected, re-encoded.
        motion_latents = models_.vae->encode(video.narrow(2, frame_num - chunk_settings.motion_frames,
                                                          chunk_settings.motion_frames));
      }
      seconds_decoding += seconds_since(decode_started);

      if (fresh > 0) {
        progress.report(GenerateProgress::Stage::encoding, chunk.index, settings.steps);
        at::Tensor frames = video.squeeze(0).narrow(1, chunk.keep_from, fresh).to(at::kCPU, at::kFloat).contiguous();
        encoder->push(frames);  // encoded while the next chunk samples
        if (dump) dump->append(frames.transpose(0, 1));
        if (hooks.on_frames) hooks.on_frames(chunk.index, frames);
      }
    }
    if (!last && comm) {
      // Only rank 0 decoded: the others receive the next chunk's motion latents (their shape is known).
      const at::Tensor shaped = lead ? motion_latents
                                     : at::empty({1, z_dim, (chunk_settings.motion_frames - 1) / 4 + 1, lat_h, lat_w},
                                                 at::TensorOptions().dtype(at::kFloat).device(device));
      motion_latents = from_rank0(comm, shaped, device);
    }
    if (fresh > 0) frames_out += fresh;
    progress.chunk_done(chunk.index);
  }
  if (frames_out != plan.output_frames)
    fail(ErrorCode::internal, "generated {} frames, planned {}", frames_out, plan.output_frames);

  if (encoder) encoder->finish();
  if (dump) dump->finish();

  GenerateResult result;  // ranks other than 0: the job's figures, no video
  result.output_path = lead ? o.output_path : std::string();
  if (lead && o.output_path.empty()) result.mp4 = encoder->take_buffer();
  result.frames = static_cast<int>(frames_out);
  result.width = static_cast<int>(width);
  result.height = static_cast<int>(height);
  result.fps = kFps;
  result.duration_seconds = frames_out / kFps;
  result.chunks = static_cast<int>(plan.chunks.size());
  result.seed = o.seed;
  result.settings = settings;
  result.untrained_model = models_.untrained;
  result.model_name = models_.name;
  result.seconds_total = seconds_since(started);
  result.seconds_sampling = seconds_sampling;
  result.seconds_decoding = seconds_decoding;
  result.seconds_preparing = seconds_preparing;
  result.seconds_encoding = encoder ? encoder->seconds_waited() : 0.0;
  progress.report(GenerateProgress::Stage::done, result.chunks - 1, settings.steps);
  return result;
}

}  // namespace talkgen::pipeline
