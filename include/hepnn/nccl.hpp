/// @file nccl.hpp
/// @brief Data-parallel training on GPUs: gradients summed by NCCL in GPU memory, everything else
/// (agreement checks, losses, metrics) over MPI (target hepnn::nccl: hepnn::cuda, hepnn::mpi and
/// NCCL from the CUDA toolkit). docs/distributed.md is the guide.
///
/// ```cpp
/// return hepnn::mpi::run(argc, argv, [&](hepnn::mpi::Communicator& world) {
///   hepnn::nccl::Communicator gpus(world);  // first: it picks this rank's GPU (local rank % GPUs)
///   Model<float, cuda> model{...};
///   model.fit(train, {.batch_size = 1024, .communicator = &gpus});
/// });
/// ```
/// Status: compiled in CI; it has not run on GPUs yet (docs/distributed.md, "What is not built yet").
#pragma once
#include "hepnn/core/config.hpp"
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <string>

#include "hepnn/backend/cuda/api.hpp"
#include "hepnn/core/error.hpp"
#include "hepnn/mpi.hpp"
#include "hepnn/train/communicator.hpp"

namespace hepnn::inline HEPNN_ABI::nccl {

/// A hepnn::Communicator whose sums of GPU buffers go through NCCL, and whose host collectives go
/// through the MPI communicator it was made from (which must outlive it).
class Communicator final : public ::hepnn::Communicator {
 public:
  /// Makes this rank's NCCL communicator (collective over `host`: every rank must construct it),
  /// after selecting this rank's GPU: its rank among the ranks of its node, modulo the node's GPUs.
  /// Construct it before hepnn first uses the GPU, so that hepnn runs on that device.
  explicit Communicator(mpi::Communicator& host) : m_host(host) {
    MPI_Comm node;
    if (MPI_Comm_split_type(host.handle(), MPI_COMM_TYPE_SHARED, host.rank(), MPI_INFO_NULL, &node) != MPI_SUCCESS)
      throw Error(::hepnn::detail::concat("hepnn::nccl: MPI_Comm_split_type failed on rank ", host.rank()));
    MPI_Comm_rank(node, &m_local_rank);
    MPI_Comm_free(&node);
    int gpus = 0;
    cuda_check(cudaGetDeviceCount(&gpus), "cudaGetDeviceCount");
    HEPNN_CHECK(gpus > 0, "hepnn::nccl: rank ", host.rank(), " sees no GPU");
    m_device = m_local_rank % gpus;
    cuda_check(cudaSetDevice(m_device), "cudaSetDevice");
    cuda_check(cudaStreamCreateWithFlags(&m_stream, cudaStreamNonBlocking), "cudaStreamCreate");
    ncclUniqueId id;
    if (host.rank() == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    static_assert(sizeof(id) % sizeof(double) == 0);
    host.broadcast(reinterpret_cast<double*>(&id), std::int64_t(sizeof(id) / sizeof(double)), 0);
    check(ncclCommInitRank(&m_comm, host.size(), id, host.rank()), "ncclCommInitRank");
  }
  ~Communicator() override {
    if (m_comm) ncclCommDestroy(m_comm);
    if (m_stream) cudaStreamDestroy(m_stream);
  }
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const override { return m_host.rank(); }
  int size() const override { return m_host.size(); }
  /// The GPU this rank uses.
  int device() const { return m_device; }

  void allreduce_sum(float* d, std::int64_t n) override { m_host.allreduce_sum(d, n); }
  void allreduce_sum(double* d, std::int64_t n) override { m_host.allreduce_sum(d, n); }
  void allreduce_max(std::int64_t* d, std::int64_t n) override { m_host.allreduce_max(d, n); }
  void broadcast(float* d, std::int64_t n, int root) override { m_host.broadcast(d, n, root); }
  void broadcast(double* d, std::int64_t n, int root) override { m_host.broadcast(d, n, root); }
  void broadcast(std::int64_t* d, std::int64_t n, int root) override { m_host.broadcast(d, n, root); }
  std::string description() const override {
    int v = 0;
    ncclGetVersion(&v);
    return "NCCL " + std::to_string(v) + " on GPU " + std::to_string(m_device) + " + " + m_host.description();
  }

  bool sums_device_buffers() const override { return true; }
  void allreduce_sum_device(float* d, std::int64_t n) override { device_sum(d, n, ncclFloat); }
  void allreduce_sum_device(double* d, std::int64_t n) override { device_sum(d, n, ncclDouble); }

 private:
  void device_sum(void* d, std::int64_t n, ncclDataType_t type) {
    if (n == 0) return;
    backend::cuda::synchronize();  // the gradients are complete (hepnn's streams)
    check(ncclAllReduce(d, d, std::size_t(n), type, ncclSum, m_comm, m_stream), "ncclAllReduce");
    cuda_check(cudaStreamSynchronize(m_stream), "cudaStreamSynchronize");  // before the optimizer reads them
  }
  void check(ncclResult_t r, const char* call) const {
    if (r != ncclSuccess)
      throw Error(::hepnn::detail::concat("hepnn::nccl: ", call, " failed on rank ", m_host.rank(), ": ",
                                          ncclGetErrorString(r)));
  }
  void cuda_check(cudaError_t e, const char* call) const {
    if (e != cudaSuccess)
      throw Error(::hepnn::detail::concat("hepnn::nccl: ", call, " failed on rank ", m_host.rank(), ": ",
                                          cudaGetErrorString(e)));
  }
  mpi::Communicator& m_host;
  ncclComm_t m_comm = nullptr;
  cudaStream_t m_stream = nullptr;
  int m_local_rank = 0, m_device = 0;
};

}  // namespace hepnn::nccl
