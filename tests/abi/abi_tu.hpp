/// @file abi/abi_tu.hpp
/// @brief Two translation units of one program, compiled with different hepnn configurations
/// (tests/CMakeLists.txt gives tu_b.cpp a baseline x86-64 instruction set and no OpenBLAS).
#pragma once
#include <string>
#include <vector>

struct AbiResult {
  std::string tag;         // hepnn::abi_tag as this translation unit saw it
  std::string tag_called;  // the same, returned by an inline function of hepnn's
  std::vector<float> scores;
  std::vector<float> dropout_mask;
};

AbiResult run_tu_a();
AbiResult run_tu_b();
