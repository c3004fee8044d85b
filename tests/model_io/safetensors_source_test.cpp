// Reading safetensors files and sharded checkpoints written by Python (make_fixtures.py) and by the tests.
#include "model_io_test_util.hpp"  // first: see the note there about CHECK

#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "model/io/safetensors_source.hpp"
#include "model/io/tensor_source.hpp"

using namespace talkgen::model::io;
using namespace model_io_test;
using talkgen::ErrorCode;

TEST_CASE("every safetensors dtype written by Python reads back exactly") {
  SafetensorsFile file(data_path("dtypes.safetensors"));
  const std::vector<std::pair<std::string, at::ScalarType>> expected = {
      {"t_f64", at::kDouble}, {"t_f32", at::kFloat}, {"t_f16", at::kHalf}, {"t_bf16", at::kBFloat16},
      {"t_i64", at::kLong},   {"t_i32", at::kInt},   {"t_i16", at::kShort}, {"t_i8", at::kChar},
      {"t_u8", at::kByte},    {"t_bool", at::kBool}};
  for (const auto& [name, dtype] : expected) {
    INFO(name);
    REQUIRE(file.contains(name));
    CHECK(same(file.read(name), ramp({2, 3}, dtype)));
  }
  CHECK(same(file.read("scalar"), at::full({}, 2.5, at::kFloat)));
  CHECK(file.read("empty").sizes() == at::IntArrayRef({0, 4}));
  CHECK(file.metadata().at("note") == "talkgen");

  const std::vector<TensorInfo> list = file.list();
  REQUIRE(list.size() == expected.size() + 2);
  CHECK(list[0].name == "t_f64");  // file order
  CHECK(list[3].dtype == at::kBFloat16);
  CHECK(list[3].shape == std::vector<int64_t>{2, 3});
  CHECK(list[3].file == data_path("dtypes.safetensors"));
}

TEST_CASE("a read tensor does not depend on the source staying open") {
  at::Tensor t;
  {
    SafetensorsFile file(data_path("dtypes.safetensors"));
    t = file.read("t_f32");
  }
  CHECK(same(t, ramp({2, 3})));
}

TEST_CASE("safetensors errors name the file and the key") {
  require_error([] { SafetensorsFile f(data_path("no_such.safetensors")); }, ErrorCode::not_found,
                {"no_such.safetensors"});
  SafetensorsFile file(data_path("dtypes.safetensors"));
  require_error([&] { file.read("nope"); }, ErrorCode::not_found, {"'nope'", "dtypes.safetensors"});

  const std::string truncated = scratch_path("truncated.safetensors");
  const std::string whole = read_file(data_path("dtypes.safetensors"));
  write_file(truncated, whole.substr(0, whole.size() - 10));
  require_error([&] { SafetensorsFile f(truncated); }, ErrorCode::invalid_argument, {"truncated.safetensors", "data_offsets", "truncated"});
}

TEST_CASE("a sharded checkpoint reads every tensor from its shard") {
  auto source = open_checkpoint(data_path("sharded/model.safetensors.index.json"));
  const std::vector<TensorInfo> list = source->list();
  REQUIRE(list.size() == 6);
  for (int i = 0; i < 6; ++i) {
    const std::string name = "layer." + std::to_string(i) + ".weight";
    INFO(name);
    REQUIRE(source->contains(name));
    CHECK(same(source->read(name), ramp({4, 3 + i}, at::kBFloat16, 8.0 + i)));
  }
  CHECK(source->describe().find("3 shards") != std::string::npos);
  // Opening the folder finds the index.
  CHECK(open_checkpoint(data_path("sharded"))->list().size() == 6);
}

namespace {

// A sharded checkpoint in the scratch folder: `files` maps shard name -> tensors; the index maps each tensor.
std::string write_sharded(const std::string& dir,
                          const std::vector<std::pair<std::string, std::vector<std::pair<std::string, at::Tensor>>>>& files,
                          const nlohmann::json& extra_entries = nlohmann::json::object()) {
  ::mkdir(dir.c_str(), 0755);
  nlohmann::json map = extra_entries;
  for (const auto& [shard, tensors] : files) {
    write_file(dir + "/" + shard, safetensors_of(tensors));
    for (const auto& [name, t] : tensors) map[name] = shard;
  }
  const std::string index = dir + "/model.safetensors.index.json";
  write_file(index, nlohmann::json{{"weight_map", map}}.dump());
  return index;
}

// File-backed resident memory of this process (pages of mappings), from /proc/self/status.
int64_t rss_file_kb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("RssFile:", 0) == 0) return std::stoll(line.substr(8));
  return -1;
}

}  // namespace

TEST_CASE("index errors: a missing shard is not_found, a key absent from its shard is a mismatch") {
  SECTION("missing shard names the index and the shard") {
    const std::string index = write_sharded(scratch_path("missing_shard"), {{"a.safetensors", {{"x", ramp({2})}}}},
                                            {{"y", "gone.safetensors"}});
    require_error([&] { open_checkpoint(index); }, ErrorCode::not_found,
                  {"model.safetensors.index.json", "gone.safetensors"});
  }
  SECTION("a key the shard does not hold") {
    const std::string dir = scratch_path("lying_index");
    const std::string index = write_sharded(dir, {{"a.safetensors", {{"x", ramp({2})}}}}, {{"y", "a.safetensors"}});
    auto source = open_checkpoint(index);
    CHECK(source->contains("y"));
    require_error([&] { source->read("y"); }, ErrorCode::checkpoint_mismatch, {"'y'", "a.safetensors", "index"});
    require_error([&] { source->list(); }, ErrorCode::checkpoint_mismatch, {"'y'"});
    CHECK(same(source->read("x"), ramp({2})));
  }
  SECTION("an unreadable index") {
    const std::string dir = scratch_path("bad_index");
    ::mkdir(dir.c_str(), 0755);
    write_file(dir + "/m.safetensors.index.json", "{\"weight_map\": 3}");
    require_error([&] { open_checkpoint(dir + "/m.safetensors.index.json"); }, ErrorCode::invalid_argument,
                  {"m.safetensors.index.json", "weight_map"});
  }
}

TEST_CASE("reading a multi-shard checkpoint keeps resident file pages near one tensor") {
  // 4 shards x 4 tensors x 4 MiB = 64 MiB on disk; reading all of it must not leave the mappings resident.
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, at::Tensor>>>> files;
  for (int s = 0; s < 4; ++s) {
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (int t = 0; t < 4; ++t)
      tensors.emplace_back(fmt::format("s{}.t{}", s, t), at::full({1024, 1024}, float(s * 4 + t), at::kFloat));
    files.emplace_back(fmt::format("big-{}.safetensors", s), std::move(tensors));
  }
  const std::string index = write_sharded(scratch_path("big_sharded"), files);
  files.clear();

  auto source = open_checkpoint(index);
  const int64_t before = rss_file_kb();
  REQUIRE(before >= 0);
  int64_t peak = before;
  for (const TensorInfo& info : source->list()) {
    const at::Tensor t = source->read(info.name);
    const int s = info.name[1] - '0', k = info.name[4] - '0';
    REQUIRE(t.sizes() == at::IntArrayRef({1024, 1024}));
    CHECK(t[1023][1023].item<float>() == float(s * 4 + k));
    CHECK(t.sum().item<double>() == double(s * 4 + k) * 1024 * 1024);
    peak = std::max(peak, rss_file_kb());
  }
  INFO("RssFile before " << before << " kB, peak " << peak << " kB");
  CHECK(peak - before < 8 * 1024);  // under two 4 MiB tensors of the 64 MiB read
}

TEST_CASE("several threads may read one sharded source at once") {
  // Threads hop between shards, so mappings are made and dropped while other threads read.
  auto source = open_checkpoint(data_path("sharded/model.safetensors.index.json"));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        const int i = (round + t) % 6;
        const at::Tensor x = source->read("layer." + std::to_string(i) + ".weight");
        if (!same(x, ramp({4, 3 + i}, at::kBFloat16, 8.0 + i))) ++wrong;
      }
    });
  for (std::thread& th : threads) th.join();
  CHECK(wrong == 0);
}
