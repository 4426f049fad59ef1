/// @file io/requirements.hpp
/// @brief Stops the compilation at the first line with one clear message when a library that
/// hepnn/io needs is not on the include path (instead of hundreds of follow-on errors).
///
/// hepnn/io needs the HDF5 C library and nlohmann-json. On Debian, libhdf5-dev puts hdf5.h in
/// /usr/include/hdf5/serial, which compilers do not search by default: the CMake target
/// hepnn::io adds it; plain command lines need `-I/usr/include/hdf5/serial -lhdf5_serial`
/// (docs/building.md, "Without CMake").
#pragma once

#if !__has_include(<hdf5.h>)
#if __has_include(</usr/include/hdf5/serial/hdf5.h>)
#error "hepnn/io: hdf5.h is installed in /usr/include/hdf5/serial but that directory is not on the include path: add -I/usr/include/hdf5/serial (and link -lhdf5_serial), or link the CMake target hepnn::io"
#elif __has_include(</usr/include/hdf5/openmpi/hdf5.h>)
#error "hepnn/io: hdf5.h is installed in /usr/include/hdf5/openmpi but that directory is not on the include path: add -I/usr/include/hdf5/openmpi (and link -lhdf5_openmpi), or link the CMake target hepnn::io"
#else
#error "hepnn/io needs the HDF5 C library and hdf5.h was not found: install it (Debian: sudo apt-get install libhdf5-dev) and link the CMake target hepnn::io, or do not include hepnn/io.hpp"
#endif
// Stop here: a missing include is fatal. (Not <hdf5.h> itself: after __has_include failed on a
// header, GCC before 14 skips a later #include of it silently, GCC bug 80753, and then reports
// hundreds of follow-on errors.)
#include "hepnn_io_stops_here_as_hdf5.h_was_not_found"
#endif

#if !__has_include(<nlohmann/json.hpp>)
#error "hepnn/io needs nlohmann-json (Debian: sudo apt-get install nlohmann-json3-dev); nlohmann/json.hpp was not found on the include path"
#include "hepnn_io_stops_here_as_nlohmann_json.hpp_was_not_found"  // fatal: see above
#endif
