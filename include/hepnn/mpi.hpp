/// @file mpi.hpp
/// @brief Data-parallel training over MPI (the optional component hepnn::mpi, built when CMake
/// finds MPI; Debian: `libopenmpi-dev openmpi-bin`). docs/distributed.md is the guide.
///
/// ```cpp
/// #include <hepnn/hepnn.hpp>
/// #include <hepnn/mpi.hpp>
/// int main(int argc, char** argv) {
///   return hepnn::mpi::run(argc, argv, [&](hepnn::mpi::Communicator& world) {
///     ...  // every rank builds the same model and reads the same data set
///     model.fit(train, {.epochs = 10, .batch_size = 256, .communicator = &world});
///     if (world.rank() == 0) hepnn::io::save_model(model, "model.h5");
///   });
/// }
/// ```
/// Launched with `mpirun -np 2 ./program` or `srun ./program`: one process per socket or GPU.
#pragma once
#include "hepnn/core/config.hpp"
#ifndef OMPI_SKIP_MPICXX
/// MPI's C interface only: Open MPI's deprecated C++ bindings stay out.
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
/// MPI's C interface only: MPICH's deprecated C++ bindings stay out.
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "hepnn/core/error.hpp"
#include "hepnn/train/communicator.hpp"

namespace hepnn::inline HEPNN_ABI::mpi {

/// MPI_Init_thread (MPI_THREAD_FUNNELED: only the main thread calls MPI) at construction unless
/// MPI is already initialised, and MPI_Finalize at destruction when this object initialised it.
class Environment {
 public:
  /// Initialises MPI with the program's arguments, unless it already is.
  Environment(int& argc, char**& argv) {
    int done = 0;
    MPI_Initialized(&done);
    if (done) return;
    int provided = 0;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw Error("hepnn::mpi: MPI_Init_thread failed");
    m_owner = true;
  }
  ~Environment() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (m_owner && !finalized) MPI_Finalize();
  }
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

 private:
  bool m_owner = false;
};

/// Options of an MPI communicator.
struct Options {
  /// Seconds a collective may wait for the other ranks before this rank gives up with an error
  /// naming the call (then mpi::run ends the job). 0: wait for ever, as MPI does. Set it above the
  /// longest time one rank may work alone (rank 0 writing a checkpoint, say).
  double timeout_seconds = 0;
};

/// A hepnn::Communicator over an MPI communicator (a duplicate of it: hepnn's messages never mix
/// with the program's own). MPI errors come back as hepnn::Error naming the call and the rank,
/// not as MPI's default abort.
class Communicator final : public ::hepnn::Communicator {
 public:
  /// Duplicates `comm` (MPI must be initialised: mpi::Environment or mpi::run).
  explicit Communicator(MPI_Comm comm = MPI_COMM_WORLD, Options o = {}) : m_o(o) {
    HEPNN_CHECK(o.timeout_seconds >= 0, "hepnn::mpi: timeout_seconds must be >= 0, got ", o.timeout_seconds);
    check(MPI_Comm_dup(comm, &m_comm), "MPI_Comm_dup");
    check(MPI_Comm_set_errhandler(m_comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(m_comm, &m_rank), "MPI_Comm_rank");
    check(MPI_Comm_size(m_comm, &m_size), "MPI_Comm_size");
  }
  ~Communicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized && m_comm != MPI_COMM_NULL) MPI_Comm_free(&m_comm);
  }
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const override { return m_rank; }
  int size() const override { return m_size; }
  /// The MPI communicator hepnn uses (the duplicate).
  MPI_Comm handle() const { return m_comm; }

  void allreduce_sum(float* data, std::int64_t n) override { allreduce(data, n, MPI_FLOAT, MPI_SUM); }
  void allreduce_sum(double* data, std::int64_t n) override { allreduce(data, n, MPI_DOUBLE, MPI_SUM); }
  void start_allreduce_sum(float* data, std::int64_t n) override { start_allreduce(data, n, MPI_FLOAT); }
  void start_allreduce_sum(double* data, std::int64_t n) override { start_allreduce(data, n, MPI_DOUBLE); }
  void progress() override {
    if (m_pending.empty()) return;
    int done = 0;
    check(MPI_Testall(int(m_pending.size()), m_pending.data(), &done, MPI_STATUSES_IGNORE), "MPI_Testall");
    if (done) m_pending.clear();
  }
  void wait_all() override {
    // on an error or a timeout the remaining requests are dropped: the job ends (mpi::run)
    std::vector<MPI_Request> pending;
    pending.swap(m_pending);
    for (MPI_Request& req : pending) wait(req, "MPI_Iallreduce");
  }
  void allreduce_max(std::int64_t* data, std::int64_t n) override { allreduce(data, n, MPI_INT64_T, MPI_MAX); }
  void broadcast(float* data, std::int64_t n, int root) override { bcast(data, n, MPI_FLOAT, root); }
  void broadcast(double* data, std::int64_t n, int root) override { bcast(data, n, MPI_DOUBLE, root); }
  void broadcast(std::int64_t* data, std::int64_t n, int root) override { bcast(data, n, MPI_INT64_T, root); }
  /// Waits for every rank.
  void barrier() { check(MPI_Barrier(m_comm), "MPI_Barrier"); }

  /// "MPI (Open MPI v4.1.4 ...), 2 ranks": the first line of MPI_Get_library_version.
  std::string description() const override {
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(v, &len);
    std::string s(v, std::size_t(std::max(len, 0)));
    s = s.substr(0, s.find_first_of("\n,"));
    return "MPI (" + s + "), " + std::to_string(m_size) + (m_size == 1 ? " rank" : " ranks");
  }

 private:
  // MPI counts are int: long buffers go in pieces of at most 2^30 elements
  static constexpr std::int64_t piece = std::int64_t(1) << 30;
  template <class V>
  void allreduce(V* data, std::int64_t n, MPI_Datatype type, MPI_Op op) {
    for (std::int64_t i = 0; i < n; i += piece) {
      const int k = int(std::min(piece, n - i));
      if (m_o.timeout_seconds <= 0) {
        check(MPI_Allreduce(MPI_IN_PLACE, data + i, k, type, op, m_comm), "MPI_Allreduce");
      } else {
        MPI_Request req;
        check(MPI_Iallreduce(MPI_IN_PLACE, data + i, k, type, op, m_comm, &req), "MPI_Iallreduce");
        wait(req, "MPI_Iallreduce");
      }
    }
  }
  template <class V>
  void start_allreduce(V* data, std::int64_t n, MPI_Datatype type) {
    for (std::int64_t i = 0; i < n; i += piece) {
      MPI_Request req;
      check(MPI_Iallreduce(MPI_IN_PLACE, data + i, int(std::min(piece, n - i)), type, MPI_SUM, m_comm, &req),
            "MPI_Iallreduce");
      m_pending.push_back(req);
    }
  }
  template <class V>
  void bcast(V* data, std::int64_t n, MPI_Datatype type, int root) {
    HEPNN_CHECK(root >= 0 && root < m_size, "hepnn::mpi: broadcast from rank ", root, " of a communicator of ", m_size,
                " ranks");
    for (std::int64_t i = 0; i < n; i += piece) {
      const int k = int(std::min(piece, n - i));
      if (m_o.timeout_seconds <= 0) {
        check(MPI_Bcast(data + i, k, type, root, m_comm), "MPI_Bcast");
      } else {
        MPI_Request req;
        check(MPI_Ibcast(data + i, k, type, root, m_comm, &req), "MPI_Ibcast");
        wait(req, "MPI_Ibcast");
      }
    }
  }
  // completes a non-blocking collective, or throws once the timeout (if any) has passed
  void wait(MPI_Request& req, const char* call) {
    if (m_o.timeout_seconds <= 0) {
      check(MPI_Wait(&req, MPI_STATUS_IGNORE), call);
      return;
    }
    const auto start = std::chrono::steady_clock::now();
    for (int done = 0;;) {
      check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), call);
      if (done) return;
      const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (waited > m_o.timeout_seconds)
        throw Error(detail::concat("hepnn::mpi: ", call, ": no answer from the other ranks for ", m_o.timeout_seconds,
                                   " s (Options::timeout_seconds); another rank has failed, hangs or is far behind"));
      std::this_thread::yield();
    }
  }
  void check(int rc, const char* call) const {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    throw Error(detail::concat("hepnn::mpi: ", call, " failed on rank ", m_rank, " of ", m_size, ": ",
                               std::string(text, std::size_t(std::max(len, 0)))));
  }
  Options m_o;
  std::vector<MPI_Request> m_pending;  // started sums (start_allreduce_sum), until wait_all
  MPI_Comm m_comm = MPI_COMM_NULL;
  int m_rank = 0, m_size = 1;
};

/// Runs `body(world)` in an MPI program and returns its exit status: MPI is initialised and
/// finalised around it, and an exception on any rank prints "hepnn: rank r of N: <what>" on
/// standard error and ends the whole job (MPI_Abort), so that no other rank waits for ever in a
/// collective. With Options::timeout_seconds, a rank that waits longer than that in a collective
/// (another rank hangs) says so and ends the job the same way. `body` may return void (status 0)
/// or an int.
template <class Body>
int run(int argc, char** argv, Body&& body, Options o = {}) {
  Environment env(argc, argv);
  Communicator world(MPI_COMM_WORLD, o);  // outside the try: neither it nor MPI is torn down before the abort
  try {
    if constexpr (std::is_void_v<decltype(body(world))>) {
      body(world);
      return 0;
    } else {
      return int(body(world));
    }
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (what.rfind("hepnn: ", 0) == 0) what.erase(0, 7);  // hepnn::Error's prefix, said once
    std::fprintf(stderr, "hepnn: rank %d of %d: %s\n", world.rank(), world.size(), what.c_str());
  } catch (...) {
    std::fprintf(stderr, "hepnn: rank %d of %d: unknown exception\n", world.rank(), world.size());
  }
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  return 1;
}

}  // namespace hepnn::mpi
