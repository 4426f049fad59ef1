// A user program that includes hepnn/io.hpp; compiled without HDF5's include directory by
// tests/compile_errors/missing_hdf5.cmake, which expects one clear message and nothing after it.
#include <hepnn/hepnn.hpp>
#include <hepnn/io.hpp>
int main() { return 0; }
