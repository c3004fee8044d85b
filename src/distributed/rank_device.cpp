#include "distributed/rank_device.hpp"

#include <optional>

#include "talkgen/error.hpp"

#ifdef TALKGEN_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace talkgen::distributed {

struct RankStreams::Impl {
  std::vector<c10::Device> devices;
#ifdef TALKGEN_WITH_CUDA
  std::vector<std::optional<c10::cuda::CUDAStream>> streams;
#endif
};

RankStreams::RankStreams(const std::vector<c10::Device>& devices) : impl_(std::make_unique<Impl>()) {
  impl_->devices = devices;
  for (const auto& d : devices) {
    if (d.is_cpu()) {
#ifdef TALKGEN_WITH_CUDA
      impl_->streams.emplace_back();
#endif
      continue;
    }
    if (!d.is_cuda())
      fail(ErrorCode::unsupported, "device '{}' is not supported for ranks; use cpu or cuda:N devices", d.str());
#ifdef TALKGEN_WITH_CUDA
    const int count = c10::cuda::device_count();
    if (!d.has_index() || d.index() >= count)
      fail(ErrorCode::device_unavailable, "device '{}' is not available: this machine has {} CUDA device(s); name "
           "devices cuda:0..cuda:{}", d.str(), count, count - 1);
    // A pool stream of its own: the rank's work never serialises with the caller's default stream.
    impl_->streams.emplace_back(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, d.index()));
#else
    fail(ErrorCode::device_unavailable, "device '{}' needs CUDA, but this build of talkgen has no CUDA; use cpu devices "
         "or a CUDA build", d.str());
#endif
  }
}

RankStreams::~RankStreams() = default;

std::shared_ptr<void> RankStreams::bind(int local_rank) const {
#ifdef TALKGEN_WITH_CUDA
  const auto& stream = impl_->streams.at(local_rank);
  if (stream) {
    struct Scope {
      explicit Scope(const c10::cuda::CUDAStream& s) : device(s.device()), stream(s) {}
      c10::cuda::CUDAGuard device;
      c10::cuda::CUDAStreamGuard stream;
    };
    return std::make_shared<Scope>(*stream);
  }
#endif
  (void)local_rank;
  return nullptr;
}

void RankStreams::synchronize(int local_rank) const {
#ifdef TALKGEN_WITH_CUDA
  if (const auto& stream = impl_->streams.at(local_rank)) stream->synchronize();
#endif
  (void)local_rank;
}

}  // namespace talkgen::distributed
