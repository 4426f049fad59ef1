/// @file train/communicator.hpp
/// @brief The collective operations a data-parallel fit needs, as an interface without MPI or
/// NCCL in it: `ModelFitOptions::communicator` takes one, `hepnn/mpi.hpp` implements it over MPI.
///
/// Every rank of the communicator must call each collective in the same order with the same
/// count (the fit does); a failed collective throws hepnn::Error naming the operation and the rank.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <string>
#include <utility>

#include "hepnn/core/error.hpp"

namespace hepnn::inline HEPNN_ABI {

/// A group of processes (ranks) that train one model together. Buffers live in host memory.
class Communicator {
 public:
  virtual ~Communicator() = default;
  /// This process's rank, 0 to size() - 1.
  virtual int rank() const = 0;
  /// The number of ranks.
  virtual int size() const = 0;
  /// data[0..n) becomes the element-wise sum over the ranks, the same on every rank.
  virtual void allreduce_sum(float* data, std::int64_t n) = 0;
  /// As above, in double.
  virtual void allreduce_sum(double* data, std::int64_t n) = 0;
  /// Starts making data[0..n) the sum over the ranks and may return before it is done: data must
  /// be neither read nor written until wait_all() returns. Every rank starts the same sums in the
  /// same order, and other collectives may come between (MPI's rule for non-blocking collectives).
  /// The default sums at once (allreduce_sum).
  virtual void start_allreduce_sum(float* data, std::int64_t n) { allreduce_sum(data, n); }
  /// As above, in double.
  virtual void start_allreduce_sum(double* data, std::int64_t n) { allreduce_sum(data, n); }
  /// Lets started sums advance while this rank computes (MPI advances non-blocking collectives
  /// inside MPI calls only). Never waits.
  virtual void progress() {}
  /// Returns when every started sum is complete.
  virtual void wait_all() {}
  /// data[0..n) becomes the element-wise maximum over the ranks.
  virtual void allreduce_max(std::int64_t* data, std::int64_t n) = 0;
  /// data[0..n) becomes rank `root`'s values on every rank.
  virtual void broadcast(float* data, std::int64_t n, int root) = 0;
  /// As above, in double.
  virtual void broadcast(double* data, std::int64_t n, int root) = 0;
  /// As above, for integers.
  virtual void broadcast(std::int64_t* data, std::int64_t n, int root) = 0;
  /// What the communicator runs on, for messages ("MPI (Open MPI v4.1.4), 2 ranks").
  virtual std::string description() const = 0;
  /// True when allreduce_sum_device takes GPU buffers (NCCL): a GPU model's gradients are then
  /// summed where they are, instead of through host memory.
  virtual bool sums_device_buffers() const { return false; }
  /// data[0..n) in GPU memory becomes the sum over the ranks (only when sums_device_buffers()).
  virtual void allreduce_sum_device(float* /*data*/, std::int64_t /*n*/) { unsupported(); }
  /// As above, in double.
  virtual void allreduce_sum_device(double* /*data*/, std::int64_t /*n*/) { unsupported(); }

 private:
  [[noreturn]] void unsupported() const {
    throw Error("Communicator '" + description() + "' sums host buffers only (sums_device_buffers() is false)");
  }
};

namespace detail {
/// The part [lo, hi) of a global batch [b0, b0 + B) that rank `rank` of `size` trains: B split in
/// `size` contiguous parts that differ by at most one event (a part may be empty when B < size).
inline std::pair<std::int64_t, std::int64_t> rank_part(std::int64_t b0, std::int64_t B, int rank, int size) {
  return {b0 + B * rank / size, b0 + B * (rank + 1) / size};
}

}  // namespace detail

}  // namespace hepnn
