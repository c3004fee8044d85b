// ThreadComm: every collective at world sizes 1-4, non-contiguous inputs, several dtypes, checked against
// values written out element by element (not against the same cat/chunk code the implementation uses).
#include "support/catch_torch.hpp"

#include "distributed/thread_comm.hpp"
#include "thread_harness.hpp"

using namespace talkgen;
using namespace talkgen::distributed;
using testing::run_threads;

namespace {

constexpr std::chrono::milliseconds kTimeout{10000};

// [rows, cols] with element (a, b) = 100 * rank + 10 * a + b, made non-contiguous: built as [cols, rows]
// and transposed.
at::Tensor rank_matrix(int rank, int64_t rows, int64_t cols, at::ScalarType dtype) {
  auto a = at::arange(rows, at::kDouble).view({rows, 1}) * 10;
  auto b = at::arange(cols, at::kDouble).view({1, cols});
  auto m = (a + b + 100.0 * rank).to(dtype);
  auto t = m.t().contiguous().t();
  if (t.is_contiguous()) throw std::logic_error("rank_matrix must be non-contiguous");  // runs on rank threads
  return t;
}

double at2(const at::Tensor& t, int64_t i, int64_t j) { return t.index({i, j}).item<double>(); }

// `value` as `dtype` stores it (bfloat16 rounds above 256, uint8 wraps), for comparing with at2.
double as_stored(double value, at::ScalarType dtype) {
  return at::scalar_tensor(value, at::kDouble).to(dtype).item<double>();
}

const std::vector<at::ScalarType> kDtypes{at::kFloat, at::kDouble, at::kHalf, at::kBFloat16, at::kInt, at::kLong,
                                          at::kByte};

}  // namespace

TEST_CASE("ThreadComm all_gather concatenates every rank's tensor in rank order", "[distributed][thread_comm]") {
  for (int world = 1; world <= 4; ++world) {
    for (auto dtype : kDtypes) {
      for (int64_t dim : {0, 1, -1}) {
        INFO("world " << world << " dtype " << c10::toString(dtype) << " dim " << dim);
        auto out = run_threads(world, kTimeout, [&](ThreadComm& c) {
          return c.all_gather(rank_matrix(c.rank(), 2, 3, dtype), dim);
        });
        const int64_t d = dim < 0 ? 1 : dim;
        for (int r = 0; r < world; ++r) {
          REQUIRE_FALSE(out[r].error);
          const auto& t = out[r].result;
          REQUIRE(t.scalar_type() == dtype);
          REQUIRE(t.is_contiguous());
          REQUIRE(t.sizes() == (d == 0 ? at::IntArrayRef{2 * world, 3} : at::IntArrayRef{2, 3 * world}));
          for (int64_t i = 0; i < t.size(0); ++i)
            for (int64_t j = 0; j < t.size(1); ++j) {
              const int src = static_cast<int>(d == 0 ? i / 2 : j / 3);
              const int64_t a = d == 0 ? i % 2 : i, b = d == 0 ? j : j % 3;
              REQUIRE(at2(t, i, j) == as_stored(100.0 * src + 10 * a + b, dtype));
            }
        }
      }
    }
  }
}

TEST_CASE("ThreadComm all_to_all sends piece j to rank j", "[distributed][thread_comm]") {
  for (int world = 1; world <= 4; ++world) {
    for (auto dtype : kDtypes) {
      // (scatter, gather) over a [2 * world, 3 * world] input: every pairing of the two dims.
      for (auto [sd, gd] : std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {1, 0}, {0, 0}, {1, 1}}) {
        INFO("world " << world << " dtype " << c10::toString(dtype) << " scatter " << sd << " gather " << gd);
        const int64_t rows = 2 * world, cols = 3 * world;
        auto out = run_threads(world, kTimeout, [&](ThreadComm& c) {
          return c.all_to_all(rank_matrix(c.rank(), rows, cols, dtype), sd, gd);
        });
        const int64_t piece_rows = sd == 0 ? rows / world : rows, piece_cols = sd == 1 ? cols / world : cols;
        for (int dst = 0; dst < world; ++dst) {
          REQUIRE_FALSE(out[dst].error);
          const auto& t = out[dst].result;
          REQUIRE(t.scalar_type() == dtype);
          REQUIRE(t.size(0) == piece_rows * (gd == 0 ? world : 1));
          REQUIRE(t.size(1) == piece_cols * (gd == 1 ? world : 1));
          for (int64_t i = 0; i < t.size(0); ++i)
            for (int64_t j = 0; j < t.size(1); ++j) {
              // Which source rank this element came from, and where it sat in that rank's piece.
              const int src = static_cast<int>(gd == 0 ? i / piece_rows : j / piece_cols);
              const int64_t pi = gd == 0 ? i % piece_rows : i, pj = gd == 1 ? j % piece_cols : j;
              // The piece sent to `dst` starts at dst * piece size along the scatter dim of the source.
              const int64_t a = sd == 0 ? dst * piece_rows + pi : pi, b = sd == 1 ? dst * piece_cols + pj : pj;
              REQUIRE(at2(t, i, j) == as_stored(100.0 * src + 10 * a + b, dtype));
            }
        }
      }
    }
  }
}

TEST_CASE("ThreadComm all_reduce_sum adds every rank's tensor", "[distributed][thread_comm]") {
  for (int world = 1; world <= 4; ++world) {
    for (auto dtype : kDtypes) {
      INFO("world " << world << " dtype " << c10::toString(dtype));
      auto out = run_threads(world, kTimeout, [&](ThreadComm& c) {
        // Small values so uint8 and half hold the sum exactly.
        return c.all_reduce_sum((rank_matrix(c.rank(), 2, 3, at::kDouble) / 10).floor().to(dtype));
      });
      for (int r = 0; r < world; ++r) {
        REQUIRE_FALSE(out[r].error);
        for (int64_t i = 0; i < 2; ++i)
          for (int64_t j = 0; j < 3; ++j) {
            double want = 0;
            for (int src = 0; src < world; ++src) want += std::floor((100.0 * src + 10 * i + j) / 10);
            REQUIRE(at2(out[r].result, i, j) == want);
          }
      }
    }
  }
}

TEST_CASE("ThreadComm broadcast copies the root's tensor to every rank", "[distributed][thread_comm]") {
  for (int world = 1; world <= 4; ++world) {
    for (int root = 0; root < world; ++root) {
      for (auto dtype : {at::kFloat, at::kBFloat16, at::kLong, at::kBool}) {
        INFO("world " << world << " root " << root << " dtype " << c10::toString(dtype));
        auto out = run_threads(world, kTimeout, [&](ThreadComm& c) {
          return c.broadcast(rank_matrix(c.rank(), 2, 3, at::kDouble).remainder(2).to(dtype) * (c.rank() == root), root);
        });
        const auto want = rank_matrix(root, 2, 3, at::kDouble).remainder(2).to(dtype);
        for (int r = 0; r < world; ++r) {
          REQUIRE_FALSE(out[r].error);
          REQUIRE(out[r].result.equal(want));
        }
        // Each rank owns its result: writing one does not change another's.
        if (world > 1 && dtype == at::kFloat) {
          out[0].result.fill_(-1);
          REQUIRE(out[1].result.equal(want));
        }
      }
    }
  }
}

TEST_CASE("ThreadComm barrier and a sequence of mixed collectives stay matched", "[distributed][thread_comm]") {
  for (int world = 1; world <= 4; ++world) {
    auto out = run_threads(world, kTimeout, [&](ThreadComm& c) {
      at::Tensor acc = at::zeros({1}, at::kLong);
      for (int step = 0; step < 20; ++step) {
        c.barrier();
        acc += c.all_reduce_sum(at::full({1}, c.rank() + step, at::kLong));
        acc += c.all_gather(at::full({1}, c.rank(), at::kLong), 0).sum();
      }
      return acc;
    });
    int64_t want = 0;
    for (int step = 0; step < 20; ++step)
      for (int r = 0; r < world; ++r) want += (r + step) + r;
    for (int r = 0; r < world; ++r) {
      REQUIRE_FALSE(out[r].error);
      REQUIRE(out[r].result.item<int64_t>() == want);
    }
  }
}

TEST_CASE("ThreadComm rejects bad arguments with invalid_argument", "[distributed][thread_comm]") {
  auto rendezvous = std::make_shared<ThreadRendezvous>(2, kTimeout);
  ThreadComm comm(rendezvous, 0);
  const auto x = at::zeros({3, 4});
  auto code_of = [](auto&& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::ok;
  };
  CHECK(code_of([&] { comm.all_to_all(x, 0, 1); }) == ErrorCode::invalid_argument);  // 3 rows, world 2
  CHECK(code_of([&] { comm.all_gather(x, 2); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { comm.all_gather(at::Tensor(), 0); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { comm.broadcast(x, 2); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { comm.all_reduce_sum(x.to(at::kBool)); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { ThreadComm bad(rendezvous, 2); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { ThreadRendezvous bad(0, kTimeout); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { ThreadRendezvous bad(1, std::chrono::milliseconds(0)); }) == ErrorCode::invalid_argument);
}

TEST_CASE("ThreadComm reports ranks that call different collectives or shapes", "[distributed][thread_comm]") {
  SECTION("different shapes") {
    auto out = run_threads(3, kTimeout, [&](ThreadComm& c) {
      return c.all_gather(at::zeros({2, c.rank() == 1 ? 4 : 3}), 0);
    });
    for (int r = 0; r < 3; ++r) REQUIRE(out[r].error);
    try {
      std::rethrow_exception(out[2].error);
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::invalid_argument);
      CHECK_THAT(e.what(), Catch::Contains("rank 1 called all_gather(dim=0) of Float [2, 4]"));
    }
  }
  SECTION("different collectives") {
    auto out = run_threads(2, kTimeout, [&](ThreadComm& c) {
      if (c.rank() == 0) return c.all_reduce_sum(at::ones({2}));
      c.barrier();
      return at::Tensor();
    });
    REQUIRE(out[0].error);
    REQUIRE(out[1].error);
    try {
      std::rethrow_exception(out[0].error);
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::invalid_argument);
      CHECK_THAT(e.what(), Catch::Contains("collective #0 does not match"));
    }
  }
}
