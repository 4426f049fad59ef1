# Compiles io_user.cpp the way a user would without CMake, forgetting -I/usr/include/hdf5/serial:
# the compiler must stop at hepnn's message naming the missing include path, with no follow-on
# errors (GCC < 14 would otherwise report hundreds: bug 80753). Args: CXX, SOURCE_DIR, EIGEN_DIR.
execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only -I${SOURCE_DIR}/include -I${EIGEN_DIR}
                        ${SOURCE_DIR}/tests/compile_errors/io_user.cpp
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(STATUS "compiled without the HDF5 include path (hdf5.h is on the default path here): nothing to check")
  return()
endif()
string(REGEX MATCHALL "error:" errors "${err}")
list(LENGTH errors n)
if(NOT err MATCHES "hdf5.h is installed in /usr/include/hdf5/serial but that directory is not on the include path: add -I/usr/include/hdf5/serial"
   AND NOT err MATCHES "needs the HDF5 C library and hdf5.h was not found")
  message(FATAL_ERROR "no clear message about the missing HDF5 include path:\n${err}")
endif()
if(n GREATER 2)  # the #error and the fatal stop
  message(FATAL_ERROR "${n} diagnostics with "error:": follow-on errors after the message:\n${err}")
endif()
message(STATUS "the compiler stopped with:\n${err}")
