# Sourced by benchmarks/mpi.sh and benchmarks/mpi_buckets.sh, in the repository root, with
# `script` set to the caller's name: the settings (BUILD, ROUNDS, EPOCHS, EVENTS), mpi_scaling
# built in Release, mpirun's flags for this MPI, the load before the runs, and machine_lines,
# the header lines every results file starts with.
build=${BUILD:-build-bench}
rounds=${ROUNDS:-3}
epochs=${EPOCHS:-4}
events=${EVENTS:-60000}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DHEPNN_BUILD_BENCHMARKS=ON -DHEPNN_BUILD_TESTS=OFF \
      -DHEPNN_BUILD_EXAMPLES=OFF -DHEPNN_CUDA=off -DHEPNN_BUILD_PEERS=OFF > /dev/null
cmake --build "$build" -j2 --target mpi_scaling > /dev/null
[ -x "$build/benchmarks/mpi_scaling" ] || { echo "$script: MPI not found (Debian: libopenmpi-dev openmpi-bin)"; exit 77; }
flags=()
if mpirun --version 2>&1 | grep -q 'Open MPI'; then flags=(--oversubscribe --bind-to none); [ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root); fi
load=$(cut -d' ' -f1-3 /proc/loadavg)

machine_lines() {  # the CPU, the compiler and products, MPI and mpirun's flags
  echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores," \
       "$(grep -o -w -m1 'avx512f' /proc/cpuinfo >/dev/null && echo AVX-512 || echo 'AVX2/FMA, no AVX-512')"
  echo "# hepnn: $(${CXX:-c++} --version | head -1), -O3 -march=native (CMake Release + HEPNN_NATIVE)," \
       "products: $(grep -m1 '^HEPNN_OPENBLAS_LIBRARY:FILEPATH=/' "$build/CMakeCache.txt" 2>/dev/null | cut -d= -f2 || true)" \
       "(empty: Eigen, no OpenBLAS found)"
  echo "# MPI: $(mpirun --version 2>&1 | head -1), mpirun ${flags[*]}; shared memory between the ranks of one machine"
}
