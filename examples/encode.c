/* A C99 program using talkgen's C ABI: a still talking-head video of an image for the length of the speech.
 *   encode_example portrait.png speech.wav out.mp4
 */
#include <stdio.h>

#include "talkgen.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s IMAGE AUDIO OUT.mp4\n", argv[0]);
    return 2;
  }
  printf("talkgen %s (%s)\n", talkgen_version(), talkgen_build_features());

  talkgen_encode_params params;
  if (talkgen_encode_params_init(&params) != TALKGEN_OK) {
    fprintf(stderr, "talkgen_encode_params_init failed: %s\n", talkgen_last_error());
    return 1;
  }
  params.image_path = argv[1];
  params.audio_path = argv[2];
  talkgen_status status = talkgen_encode_to_file(&params, argv[3]);
  if (status != TALKGEN_OK) {
    fprintf(stderr, "talkgen failed (%s): %s\n", talkgen_status_name(status), talkgen_last_error());
    return 1;
  }
  printf("wrote %s\n", argv[3]);
  return 0;
}
