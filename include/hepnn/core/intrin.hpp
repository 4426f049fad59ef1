/// @file core/intrin.hpp
/// @brief The x86 intrinsics header, included once for all of hepnn (and Eigen, which hepnn
/// includes through backend/cpu/eigen.hpp), without GCC 12's false warnings.
///
/// GCC 12.1 and 12.2 warn "'__Y' may be used uninitialized [-Wmaybe-uninitialized]" inside
/// their own avxintrin.h and avx512fintrin.h: the _mm256_undefined_* and _mm512_undefined_*
/// functions are written `__m256d __Y = __Y;` on purpose, and every inlined use of them (Eigen's
/// transposes and reductions, for one) warns in the user's -Wall build: thousands of lines for
/// one hepnn program at -O3 -march=native on an AVX-512 machine. This is GCC bug 105593
/// ("avx512 math function raises uninitialized variable warning"); later releases silence it in
/// the intrinsics headers themselves. GCC checks #pragma GCC diagnostic by the source location
/// of the warning, which lies inside these headers: so the pragmas below silence exactly those
/// lines, as long as the intrinsics headers are first included here, and no warning anywhere else.
#pragma once

#if defined(__AVX__) && !defined(__CUDA_ARCH__)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif
