#ifdef TALKGEN_WITH_NCCL

#include "distributed/nccl_comm.hpp"

#include "distributed/collective_shapes.hpp"
#include "distributed/nccl_group.hpp"

namespace talkgen::distributed {
namespace {

ncclDataType_t nccl_type(at::ScalarType t, const char* op) {
  switch (t) {
    case at::kFloat: return ncclFloat32;
    case at::kDouble: return ncclFloat64;
    case at::kHalf: return ncclFloat16;
    case at::kBFloat16: return ncclBfloat16;
    case at::kInt: return ncclInt32;
    case at::kLong: return ncclInt64;
    case at::kChar: return ncclInt8;
    case at::kByte:
    case at::kBool: return ncclUint8;  // bytes moved as they are (all_reduce_sum rejects bool first)
    default:
      fail(ErrorCode::unsupported, "{}: dtype {} cannot go through NCCL; convert to a float or integer dtype", op,
           c10::toString(t));
  }
}

}  // namespace

NcclComm::NcclComm(NcclGroup& group, int local_rank, int rank, int world, c10::Device device)
    : group_(group), local_(local_rank), rank_(rank), world_(world), device_(device) {}

void NcclComm::abort(const CommFailure& failure) { group_.abort(failure); }
std::optional<CommFailure> NcclComm::failure() const { return group_.failure(); }

at::Tensor NcclComm::prepared(const at::Tensor& input, const char* op) const {
  check_defined(input, op);
  if (input.device() != device_)
    fail(ErrorCode::invalid_argument, "{}: rank {} runs on {} but its input is on {}; move the tensor to the rank's "
         "device", op, rank_, device_.str(), input.device().str());
  return input.contiguous();
}

at::Tensor NcclComm::all_to_all(const at::Tensor& input, int64_t scatter_dim, int64_t gather_dim) {
  constexpr const char* op = "all_to_all";
  check_defined(input, op);
  const int64_t sd = checked_dim(input, scatter_dim, op), gd = checked_dim(input, gather_dim, op);
  check_divisible(input, sd, world_, op);
  const auto type = nccl_type(input.scalar_type(), op);
  // [world, piece...]: piece j is contiguous at send[j], and received piece i lands at recv[i].
  const auto send = prepared(split_stacked(input, sd, world_), op);
  auto recv = at::empty_like(send);
  const size_t count = static_cast<size_t>(send.numel() / world_);
  const size_t piece_bytes = count * send.element_size();
  group_.issue(local_, op, [&](ncclComm_t comm, cudaStream_t stream) {
    ncclResult_t r = ncclGroupStart();
    for (int peer = 0; peer < world_ && r == ncclSuccess; ++peer) {
      r = ncclSend(static_cast<const char*>(send.data_ptr()) + peer * piece_bytes, count, type, peer, comm, stream);
      if (r == ncclSuccess)
        r = ncclRecv(static_cast<char*>(recv.data_ptr()) + peer * piece_bytes, count, type, peer, comm, stream);
    }
    const ncclResult_t end = ncclGroupEnd();  // always closes the group, even after a failed call
    return r == ncclSuccess ? end : r;
  });
  return concat_stacked(recv, gd).contiguous();
}

at::Tensor NcclComm::all_gather(const at::Tensor& input, int64_t dim) {
  constexpr const char* op = "all_gather";
  check_defined(input, op);
  const int64_t d = checked_dim(input, dim, op);
  const auto type = nccl_type(input.scalar_type(), op);
  const auto send = prepared(input, op);
  auto shape = send.sizes().vec();
  shape.insert(shape.begin(), world_);
  auto recv = at::empty(shape, send.options());
  group_.issue(local_, op, [&](ncclComm_t comm, cudaStream_t stream) {
    return ncclAllGather(send.data_ptr(), recv.data_ptr(), static_cast<size_t>(send.numel()), type, comm, stream);
  });
  return concat_stacked(recv, d).contiguous();
}

at::Tensor NcclComm::all_reduce_sum(const at::Tensor& input) {
  constexpr const char* op = "all_reduce_sum";
  check_defined(input, op);
  if (input.scalar_type() == at::kBool)
    fail(ErrorCode::invalid_argument, "all_reduce_sum: bool tensors cannot be summed; convert to an integer dtype");
  const auto type = nccl_type(input.scalar_type(), op);
  const auto send = prepared(input, op);
  auto recv = at::empty_like(send);
  group_.issue(local_, op, [&](ncclComm_t comm, cudaStream_t stream) {
    return ncclAllReduce(send.data_ptr(), recv.data_ptr(), static_cast<size_t>(send.numel()), type, ncclSum, comm,
                         stream);
  });
  return recv;
}

at::Tensor NcclComm::broadcast(const at::Tensor& input, int root) {
  constexpr const char* op = "broadcast";
  if (root < 0 || root >= world_)
    fail(ErrorCode::invalid_argument, "broadcast: root rank {} is out of range; expected 0..{}", root, world_ - 1);
  const auto type = nccl_type(input.scalar_type(), op);
  const auto send = prepared(input, op);
  auto recv = at::empty_like(send);
  group_.issue(local_, op, [&](ncclComm_t comm, cudaStream_t stream) {
    return ncclBroadcast(send.data_ptr(), recv.data_ptr(), static_cast<size_t>(send.numel()), type, root, comm,
                         stream);
  });
  return recv;
}

void NcclComm::barrier() {
  constexpr const char* op = "barrier";
  // A one-element all-reduce every rank must join, then a wait until it ran: the host-side meeting point.
  auto token = at::zeros({1}, at::TensorOptions().dtype(at::kInt).device(device_));
  group_.issue(local_, op, [&](ncclComm_t comm, cudaStream_t stream) {
    return ncclAllReduce(token.data_ptr(), token.data_ptr(), 1, ncclInt32, ncclSum, comm, stream);
  });
  group_.wait_stream(local_, op);
}

}  // namespace talkgen::distributed

#endif  // TALKGEN_WITH_NCCL
