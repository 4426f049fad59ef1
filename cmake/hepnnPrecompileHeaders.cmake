# hepnn_target_precompile_headers(<target>)
#   Compiles hepnn's umbrella header <hepnn/hepnn.hpp> once per target into a precompiled header
#   (CMake's target_precompile_headers), which every C++ source of <target> then loads instead of
#   parsing hepnn, Eigen and the standard headers again. Call it after linking hepnn::hepnn or
#   hepnn::precompiled, so that the header is compiled with the target's own flags and macros (it
#   must be: GCC ignores a precompiled header built with other ones). docs/building.md, "Compile time".
#
#   GCC 12 does not apply hepnn's `#pragma GCC diagnostic` (core/intrin.hpp) to the code it reads
#   from a precompiled header, so the false '__Y' may be used uninitialized warnings of its AVX
#   intrinsics headers (GCC bug 105593, silenced in the headers of later GCC releases) come back
#   by the hundred in a -Wall build. For GCC before 13 the target therefore gets
#   -Wno-maybe-uninitialized -Wno-uninitialized as well.
function(hepnn_target_precompile_headers target)
  target_precompile_headers(${target} PRIVATE <hepnn/hepnn.hpp>)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wno-maybe-uninitialized -Wno-uninitialized>)
  endif()
endfunction()
