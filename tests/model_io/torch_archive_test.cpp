// PyTorch zip archives written by torch.save (make_fixtures.py), and corrupt pickles.
#include "model_io_test_util.hpp"  // first: see the note there about CHECK

#include <atomic>
#include <thread>

#include "model/io/pickle.hpp"
#include "model/io/tensor_source.hpp"
#include "model/io/torch_archive.hpp"

using namespace talkgen::model::io;
using namespace model_io_test;
using talkgen::ErrorCode;

TEST_CASE("a torch.save state dict reads back with dtypes, views and offsets") {
  auto source = open_checkpoint(data_path("state_dict.pth"));
  const at::Tensor base = ramp({4, 6});
  CHECK(same(source->read("plain.weight"), ramp({3, 4}, at::kBFloat16)));
  CHECK(same(source->read("plain.half"), ramp({5}, at::kHalf)));
  CHECK(same(source->read("plain.double"), ramp({2, 2}, at::kDouble)));
  CHECK(same(source->read("plain.steps"), at::arange(7, at::kLong)));
  CHECK(same(source->read("plain.mask"), at::tensor({1, 0, 1}, at::kByte).to(at::kBool)));
  CHECK(same(source->read("plain.bytes"), at::arange(4, at::kByte)));
  CHECK(same(source->read("view.whole"), base));
  CHECK(same(source->read("view.transposed"), base.t()));
  CHECK(same(source->read("view.row2"), base[2]));
  CHECK(same(source->read("view.column3"), base.select(1, 3)));
  CHECK(same(source->read("view.block"), base.slice(0, 1, 3).slice(1, 2, 5)));
  CHECK(same(source->read("param"), ramp({2, 3})));
  CHECK(same(source->read("scalar"), at::full({}, 1.25, at::kFloat)));
  // Reads are fresh contiguous tensors, and reading again gives the same values.
  const at::Tensor t = source->read("view.transposed");
  CHECK(t.is_contiguous());
  CHECK(same(source->read("view.row2"), base[2]));

  const std::vector<TensorInfo> list = source->list();
  REQUIRE(list.size() == 13);
  CHECK(list[0].name == "plain.weight");  // pickle (insertion) order
  CHECK(list[0].dtype == at::kBFloat16);
  CHECK(list[7].shape == std::vector<int64_t>{6, 4});
  require_error([&] { source->read("missing"); }, ErrorCode::not_found, {"'missing'", "state_dict.pth"});
}

TEST_CASE("several threads may read views of one shared storage at once") {
  auto source = open_checkpoint(data_path("state_dict.pth"));
  const at::Tensor base = ramp({4, 6});
  const std::vector<std::pair<std::string, at::Tensor>> expected = {
      {"view.whole", base}, {"view.row2", base[2]}, {"view.block", base.slice(0, 1, 3).slice(1, 2, 5)},
      {"plain.weight", ramp({3, 4}, at::kBFloat16)}};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        const auto& [name, value] = expected[(round + t) % expected.size()];
        if (!same(source->read(name), value)) ++wrong;
      }
    });
  for (std::thread& th : threads) th.join();
  CHECK(wrong == 0);
}

TEST_CASE("a training checkpoint is unwrapped to its state_dict") {
  auto source = open_checkpoint(data_path("wrapped.pth"));
  const std::vector<TensorInfo> list = source->list();
  REQUIRE(list.size() == 2);
  CHECK(list[0].name == "encoder.weight");
  CHECK(same(source->read("encoder.bias"), ramp({2}, at::kBFloat16)));
}

TEST_CASE("nested dicts and lists flatten to dotted names") {
  auto source = open_checkpoint(data_path("nested.pth"));
  CHECK(same(source->read("a.b"), ramp({2})));
  CHECK(same(source->read("list.0"), ramp({1})));
  CHECK(same(source->read("list.1"), ramp({3})));
  CHECK(source->list().size() == 3);
}

TEST_CASE("a module state_dict (pytorch_model.bin) is found by name and by content") {
  auto source = open_checkpoint(data_path("module_state.bin"));
  CHECK(same(source->read("0.weight"), ramp({2, 3})));
  CHECK(same(source->read("1.num_batches_tracked"), at::full({}, 5, at::kLong)));
  CHECK(source->list().size() == 7);
}

TEST_CASE("archive errors are typed and name the file") {
  require_error([] { open_checkpoint(data_path("legacy.pth")); }, ErrorCode::unsupported, {"legacy.pth", "1.6"});
  require_error([] { open_checkpoint(data_path("absent.pth")); }, ErrorCode::not_found, {"absent.pth"});

  const std::string whole = read_file(data_path("state_dict.pth"));
  const std::string truncated = scratch_path("truncated.pth");
  write_file(truncated, whole.substr(0, whole.size() / 2));
  require_error([&] { open_checkpoint(truncated); }, ErrorCode::invalid_argument, {"truncated.pth"});

  const std::string junk = scratch_path("junk.pth");
  write_file(junk, "this is not a checkpoint at all");
  require_error([&] { open_checkpoint(junk); }, ErrorCode::unsupported, {"junk.pth"});
}

namespace {

std::vector<std::pair<std::string, TorchTensorRef>> parse_pickle(const std::string& bytes) {
  return parse_torch_pickle(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "t.pth");
}

// Protocol-2 pickle of {'w': _rebuild_tensor_v2(storage('0', FloatStorage, numel), offset, size, stride)}.
std::string tensor_pickle(int numel, int offset, int size, int stride, const std::string& storage = "FloatStorage") {
  using namespace std::string_literals;
  const auto k = [](int v) { return "K"s + static_cast<char>(v); };  // BININT1
  std::string p = "\x80\x02}q\x00X\x01\x00\x00\x00w"s;          // PROTO 2, {}, memo 0, 'w'
  p += "ctorch._utils\n_rebuild_tensor_v2\n("s;                      // the callable, MARK of its args
  p += "(X\x07\x00\x00\x00storagectorch\n"s + storage + "\nX\x01\x00\x00\x00"s + "0X\x03\x00\x00\x00"s + "cpu"s;
  p += k(numel) + "tQ"s;                                               // pid tuple, BINPERSID
  p += k(offset) + k(size) + "\x85"s + k(stride) + "\x85"s;           // offset, (size,), (stride,)
  p += "\x89"s + "ccollections\nOrderedDict\n)R"s;                   // False, OrderedDict()
  p += "tRs."s;                                                        // args tuple, REDUCE, SETITEM, STOP
  return p;
}

}  // namespace

TEST_CASE("the torch pickle interpreter builds tensor references and rejects corrupt programs") {
  const auto ok = parse_pickle(tensor_pickle(10, 2, 4, 2));
  REQUIRE(ok.size() == 1);
  CHECK(ok[0].first == "w");
  CHECK(ok[0].second.dtype == at::kFloat);
  CHECK(ok[0].second.storage->nbytes == 40);
  CHECK(ok[0].second.offset == 2);
  CHECK(ok[0].second.sizes == std::vector<int64_t>{4});
  CHECK(ok[0].second.strides == std::vector<int64_t>{2});

  // offset 2 + 3 * stride 3 = 11 >= 10 elements
  require_error([] { parse_pickle(tensor_pickle(10, 2, 4, 3)); }, ErrorCode::invalid_argument, {"past its storage"});
  require_error([] { parse_pickle(tensor_pickle(10, 0, 4, 1, "ComplexFloatStorage")); }, ErrorCode::unsupported,
                {"ComplexFloatStorage"});
  const std::string good = tensor_pickle(10, 2, 4, 2);
  for (size_t cut = 0; cut + 1 < good.size(); ++cut) {
    INFO("cut at " << cut);
    require_error([&] { parse_pickle(good.substr(0, cut)); }, ErrorCode::invalid_argument, {"t.pth"});
  }
  require_error([] { parse_pickle("\x80\x02h\x05."); }, ErrorCode::invalid_argument, {"memo"});
  require_error([] { parse_pickle("\x80\x02\xff"); }, ErrorCode::invalid_argument, {"0xff"});
  require_error([] { parse_pickle("\x80\x02" "0."); }, ErrorCode::invalid_argument, {"empty stack"});
}

TEST_CASE("pickle values: integers, strings, floats") {
  using namespace talkgen::model::io::pickle;
  const auto load_bytes = [](const std::string& s) {
    return std::make_shared<Document>(load(reinterpret_cast<const uint8_t*>(s.data()), s.size(), Hooks{}, "t"));
  };
  CHECK(load_bytes(std::string("\x80\x02J\xfe\xff\xff\xff.", 8))->root->integer == -2);
  CHECK(load_bytes(std::string("\x80\x02\x8a\x02\x00\x80.", 7))->root->integer == -32768);
  CHECK(load_bytes(std::string("\x80\x02\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x01.", 13))->root->integer ==
        int64_t(0x0100000000000000));
  CHECK(load_bytes(std::string("\x80\x02G\x3f\xf8\x00\x00\x00\x00\x00\x00.", 12))->root->floating == 1.5);
  CHECK(load_bytes("\x80\x04\x8c\x03" "abc\x94.")->root->text == "abc");
  const auto doc = load_bytes("\x80\x02](K\x01K\x02" "e.");
  REQUIRE(doc->root->kind == Kind::list);
  CHECK(doc->root->items.size() == 2);
  require_error([&] { load_bytes("\x80\x02\x8a\x09" "123456789."); }, ErrorCode::invalid_argument, {"64 bits"});
}

TEST_CASE("hostile pickles: cycles, deep nesting and exponential sharing fail cleanly") {
  using namespace std::string_literals;
  // d = {}; d['a'] = d
  require_error([] { parse_pickle("\x80\x02}q\x00X\x01\x00\x00\x00" "ah\x00s."s); }, ErrorCode::invalid_argument,
                {"nests more than 64"});
  // A million nested lists: tearing them down must not recurse a million frames.
  const std::string deep = "\x80\x02"s + std::string(1'000'000, ']') + std::string(999'999, 'a') + ".";
  require_error([&] { parse_pickle(deep); }, ErrorCode::invalid_argument, {"nests more than 64"});
  // x = []; 40 times x = [x, x]: 2^40 paths through 41 lists.
  std::string dag = "\x80\x02]"s;
  for (int i = 0; i < 40; ++i) dag += "q\x00" "0(h\x00h\x00l"s;
  require_error([&] { parse_pickle(dag + "."); }, ErrorCode::invalid_argument, {"paths to walk"});
}
