// talkgen_bench_encode: frames/s of talkgen's MP4 encoder next to the ffmpeg CLI, same settings.
//
//   talkgen_bench_encode [--frames 100] [--preset medium] [--crf 17] [--sizes 832x480,1280x720]
//                        [--ffmpeg ffmpeg | --no-ffmpeg]
#include <cstdio>

#include <CLI/CLI.hpp>

#include "encode_bench.hpp"
#include "talkgen/error.hpp"

int main(int argc, char** argv) {
  talkgen::bench::EncodeBenchOptions options;
  std::string sizes = "832x480,1280x720";
  bool no_ffmpeg = false;
  CLI::App app{"Encoder throughput: talkgen::Encoder vs the ffmpeg CLI on the same raw frames"};
  app.add_option("--frames", options.frames, "frames per size")->check(CLI::PositiveNumber);
  app.add_option("--preset", options.preset, "libx264 preset");
  app.add_option("--crf", options.crf, "libx264 CRF")->check(CLI::Range(0, 51));
  app.add_option("--sizes", sizes, "comma-separated WIDTHxHEIGHT list");
  app.add_option("--ffmpeg", options.ffmpeg, "the ffmpeg CLI to compare with");
  app.add_flag("--no-ffmpeg", no_ffmpeg, "measure talkgen only");
  CLI11_PARSE(app, argc, argv);
  if (no_ffmpeg) options.ffmpeg.clear();

  try {
    options.sizes = talkgen::bench::parse_sizes(sizes);
    std::fputs(talkgen::bench::format_encode_benchmark(talkgen::bench::run_encode_benchmark(options)).c_str(), stdout);
  } catch (const talkgen::Error& error) {
    std::fprintf(stderr, "talkgen_bench_encode: %s: %s\n", talkgen::to_string(error.code()), error.what());
    return 1;
  }
  return 0;
}
