/* A C99 program using talkgen's C ABI: a lip-synced talking-head video from a portrait and speech.
 *   generate_example MODEL IMAGE AUDIO OUT.mp4
 * MODEL is "demo" (the tiny untrained model: the video is noise, but every stage runs) or a weights folder.
 * Ctrl-C cancels the job cleanly through the progress callback.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "talkgen.h"

static volatile sig_atomic_t interrupted = 0;

static void on_interrupt(int signal_number) {
  (void)signal_number;
  interrupted = 1;
}

/* Called on the job's worker thread after every state change and sampling step. */
static bool on_progress(const talkgen_progress* p, void* user_data) {
  int* last_percent = (int*)user_data;
  int percent = (int)(p->fraction * 100.0);
  if (percent != *last_percent) {
    *last_percent = percent;
    fprintf(stderr, "\r%-9s %-9s %3d%%", talkgen_job_state_name(p->state), talkgen_stage_name(p->stage), percent);
  }
  return !interrupted; /* false cancels the job */
}

int main(int argc, char** argv) {
  talkgen_client_options options;
  talkgen_client* client = NULL;
  talkgen_job_params job;
  talkgen_result* result = NULL;
  talkgen_status status;
  int last_percent = -1;
  size_t i;

  if (argc != 5) {
    fprintf(stderr, "usage: %s MODEL IMAGE AUDIO OUT.mp4   (MODEL: demo or a weights folder)\n", argv[0]);
    return 2;
  }
  signal(SIGINT, on_interrupt);
  printf("talkgen %s (%s)\n", talkgen_version(), talkgen_build_features());

  /* Newer libraries run programs built against older headers, not the other way round. */
  if (talkgen_abi_version() < TALKGEN_ABI_VERSION) {
    fprintf(stderr, "libtalkgen_c %s is older than the talkgen.h this program was built with\n", talkgen_version());
    return 1;
  }
  /* Every params struct starts from its init: the library's defaults, and the struct's size. */
  if (talkgen_client_options_init(&options) != TALKGEN_OK || talkgen_job_params_init(&job) != TALKGEN_OK) {
    fprintf(stderr, "cannot initialise the params: %s\n", talkgen_last_error());
    return 1;
  }
  if (strcmp(argv[1], "demo") == 0) {
    options.model = "demo";
  } else {
    options.model_dir = argv[1];
  }
  status = talkgen_client_create(&options, &client);
  if (status != TALKGEN_OK) {
    fprintf(stderr, "cannot create the client (%s): %s\n", talkgen_status_name(status), talkgen_last_error());
    return 1;
  }

  job.image_path = argv[2];
  job.audio_path = argv[3];
  job.output_path = argv[4];
  job.quality = "draft";
  status = talkgen_client_generate(client, &job, on_progress, &last_percent, &result);
  fprintf(stderr, "\n");
  if (status != TALKGEN_OK) {
    fprintf(stderr, "job %s %s (%s): %s\n", result ? result->job_id : "-",
            result ? talkgen_job_state_name(result->state) : "refused", talkgen_status_name(status),
            talkgen_last_error());
    talkgen_result_free(result);
    talkgen_client_free(client);
    return 1;
  }

  printf("wrote %s: %d frames, %dx%d, %.2f s at %.0f fps, %d chunk(s), %d steps, seed %lld\n", result->output_path,
         result->frames, result->width, result->height, result->duration_sec, result->fps, result->chunks,
         result->steps, (long long)result->seed);
  printf("job %s on", result->job_id);
  for (i = 0; i < result->device_count; ++i) printf(" %s", result->devices[i]);
  printf(": %.1f s (preparing %.1f, sampling %.1f, decoding %.1f, encoding %.1f)", result->timings.total_sec,
         result->timings.preparing_sec, result->timings.sampling_sec, result->timings.decoding_sec,
         result->timings.encoding_sec);
  if (result->estimated_sec >= 0) printf(", estimated %.1f s", result->estimated_sec);
  printf(", $%.4f\n", result->cost_usd);
  if (result->untrained_model) printf("NOTE: %s is untrained: the video is noise, not a talking head.\n", result->model_name);

  talkgen_result_free(result);
  talkgen_client_free(client);
  return 0;
}
