# Compiler checks shared by hepnn's own build and by find_package(hepnn) (hepnnConfig.cmake).
#
# hepnn_gcc12_avx512_workaround(<target>)
#   GCC 12.1 and 12.2 (Debian 12's compiler) miscompile stores of some 256- and 512-bit constants
#   when AVX-512 is enabled (-march=native on an AVX-512 machine, -march=x86-64-v4, -mavx512f):
#   a constant such as the doubles {1, 1, 0, 0}, whose upper 64-bit words are zero and whose other
#   words are equal, is stored as a broadcast of its first word, {1, 1, 1, 1}. The x86 back end's
#   ix86_convert_const_wide_int_to_broadcast reads the words of the CONST_WIDE_INT without noticing
#   that the zero words at its top are not stored; GCC's current sources check the word count first.
#   `std::vector<double> y{1, 1, 0, 0}` is enough to hit it (tests/core/test_compiler.cpp).
#   The probe below compiles such a store with AVX-512 and looks for the broadcast; an affected
#   compiler gets -mtune-ctrl=^inter_unit_moves_to_vec on every C++ source that links <target>,
#   which turns that conversion off (it needs inter-unit moves) and changes nothing else that
#   matters for speed (docs/architecture.md, "GCC 12 and AVX-512").
function(hepnn_gcc12_avx512_workaround target)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU" OR NOT CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
    return()
  endif()
  if(NOT DEFINED HEPNN_GCC_AVX512_BROADCAST_BUG)
    # probes/ lies beside this file in the source tree and in the installed package alike
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -x c -O2 -mavx512f -S -o -
                            "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/probes/gcc12_avx512_broadcast.c"
                    OUTPUT_VARIABLE _asm ERROR_VARIABLE _err RESULT_VARIABLE _rc)
    if(_rc EQUAL 0 AND _asm MATCHES "vpbroadcastq")
      set(_bug ON)
      message(STATUS "hepnn: ${CMAKE_CXX_COMPILER} (GCC ${CMAKE_CXX_COMPILER_VERSION}) miscompiles AVX-512 constant "
                     "stores (GCC 12 broadcast bug): adding -mtune-ctrl=^inter_unit_moves_to_vec")
    else()
      set(_bug OFF)
    endif()
    set(HEPNN_GCC_AVX512_BROADCAST_BUG ${_bug} CACHE BOOL "The C++ compiler has GCC 12's AVX-512 constant broadcast bug")
    mark_as_advanced(HEPNN_GCC_AVX512_BROADCAST_BUG)
  endif()
  # tells core/config.hpp that this check ran (a build without CMake gets a warning there instead)
  target_compile_definitions(${target} INTERFACE $<$<COMPILE_LANGUAGE:CXX>:HEPNN_GCC12_AVX512_CHECKED>)
  if(HEPNN_GCC_AVX512_BROADCAST_BUG)
    target_compile_options(${target} INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-mtune-ctrl=^inter_unit_moves_to_vec>)
  endif()
endfunction()
