#include "distributed/comm_failure.hpp"

#include <new>

#include <c10/util/Exception.h>

namespace talkgen::distributed {

CommFailure failure_from_exception(std::exception_ptr error, int rank) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    return {rank, e.code(), e.what()};
  } catch (const c10::OutOfMemoryError& e) {
    return {rank, ErrorCode::out_of_memory, e.what_without_backtrace()};
  } catch (const std::bad_alloc& e) {
    return {rank, ErrorCode::out_of_memory, std::string("host memory exhausted (") + e.what() + ")"};
  } catch (const c10::Error& e) {
    return {rank, ErrorCode::internal, e.what_without_backtrace()};
  } catch (const std::exception& e) {
    return {rank, ErrorCode::internal, e.what()};
  } catch (...) {
    return {rank, ErrorCode::internal, "an exception of unknown type"};
  }
}

void throw_aborted(const CommFailure& failure, const std::string& what, int rank) {
  fail(failure.code, "{} on rank {} stopped: the group was aborted because rank {} failed: {}", what, rank,
       failure.rank, failure.message);
}

}  // namespace talkgen::distributed
