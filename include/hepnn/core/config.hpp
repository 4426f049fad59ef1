/// @file core/config.hpp
/// @brief The build configuration a translation unit sees, and the ABI tag made from it.
///
/// hepnn is header-only: every translation unit that includes it compiles hepnn's inline
/// functions with its own macros and instruction set. Several of them change what those
/// functions do: `HEPNN_USE_OPENBLAS` (products through OpenBLAS), `HEPNN_HAVE_ZLIB` (gzip idx
/// files), `_OPENMP` (threads), and the instruction set (`__AVX2__`/`__FMA__` select hand-written
/// kernels; `__AVX__` and `__AVX512F__` change Eigen's packet size inside hepnn's functions).
/// Two translation units built with different settings would otherwise define the same inline
/// functions differently, and the linker would keep one of them for both (an ODR violation:
/// wrong results, or an AVX-512 instruction on an AVX2 machine).
///
/// So, as fmt and nlohmann/json do, hepnn's code lives in an inline namespace named after the
/// configuration, `HEPNN_ABI`: users write `hepnn::Sequential` as before, while each
/// configuration's functions have names of their own. Only the few types that cross from one
/// configuration to another keep plain names: `hepnn::Error` (thrown by the CUDA backend, which
/// nvcc compiles with its own flags), the enums and geometry structs of the CUDA backend's
/// interface, and `hepnn::backend::cuda` itself. See docs/building.md, "The ABI namespace", and
/// docs/architecture.md, "Compilers, flags and configurations".
#pragma once

// GCC 12.1/12.2 with AVX-512 stores some 256/512-bit constants wrongly (std::vector<double>{1, 1,
// 0, 0} becomes {1, 1, 1, 1}). hepnn's CMake targets check the compiler and add the workaround
// (cmake/hepnnCompilerChecks.cmake); a build without CMake is told here.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12 && defined(__AVX512F__) && \
    !defined(HEPNN_GCC12_AVX512_CHECKED)
#pragma GCC warning \
    "hepnn: GCC 12 with AVX-512 can miscompile constant stores (docs/building.md): add -mtune-ctrl=^inter_unit_moves_to_vec -DHEPNN_GCC12_AVX512_CHECKED, or build with CMake"
#endif

#if defined(HEPNN_USE_OPENBLAS)
#define HEPNN_ABI_BLAS b1
#else
#define HEPNN_ABI_BLAS b0
#endif

// instruction-set level: 3 AVX-512F, 2 AVX2 + FMA, 1 AVX, 0 none of them. (nvcc's host and device
// passes of one .cu file see the same macros here, so both name the same namespace.)
#if defined(__AVX512F__)
#define HEPNN_ABI_ISA i3
#elif defined(__AVX2__) && defined(__FMA__)
#define HEPNN_ABI_ISA i2
#elif defined(__AVX__)
#define HEPNN_ABI_ISA i1
#else
#define HEPNN_ABI_ISA i0
#endif

#if defined(HEPNN_HAVE_ZLIB)
#define HEPNN_ABI_ZLIB z1
#else
#define HEPNN_ABI_ZLIB z0
#endif

/// Threads: on when built with OpenMP (the CMake default). HEPNN_THREADS_WITHOUT_OPENMP turns them
/// on without it (hepnn's pool needs only std::thread): the ThreadSanitizer test uses it, as
/// libgomp is not instrumented.
#if defined(_OPENMP) || defined(HEPNN_THREADS_WITHOUT_OPENMP)
#define HEPNN_HAS_THREADS 1
#endif
#if defined(HEPNN_HAS_THREADS)
#define HEPNN_ABI_OMP o1
#else
#define HEPNN_ABI_OMP o0
#endif

/// The inline namespace of this translation unit's configuration, e.g. `abi_v0_1_b1_i3_z1_o1`
/// (version 0.1, OpenBLAS, AVX-512, zlib, OpenMP).
#define HEPNN_ABI_NAME2(b, i, z, o) abi_v0_1_##b##_##i##_##z##_##o
#define HEPNN_ABI_NAME(b, i, z, o) HEPNN_ABI_NAME2(b, i, z, o)
#define HEPNN_ABI HEPNN_ABI_NAME(HEPNN_ABI_BLAS, HEPNN_ABI_ISA, HEPNN_ABI_ZLIB, HEPNN_ABI_OMP)

#define HEPNN_ABI_STR2(x) #x
#define HEPNN_ABI_STR(x) HEPNN_ABI_STR2(x)

namespace hepnn::inline HEPNN_ABI {
/// The configuration this translation unit compiled hepnn with (the name of its ABI namespace).
inline constexpr const char* abi_tag = HEPNN_ABI_STR(HEPNN_ABI);
/// Returns abi_tag from an out-of-line inline function of this configuration: two translation
/// units of different configurations each call their own (tests/abi checks this).
[[gnu::noinline]] inline const char* abi_tag_of_this_configuration() { return abi_tag; }
}  // namespace hepnn::inline HEPNN_ABI
