/// @file abi/main.cpp
/// @brief One program, two hepnn configurations (core/config.hpp): each translation unit must
/// run its own definitions of hepnn's inline functions, and both must compute the same network.
///
/// Without the configuration's inline namespace, both translation units would define
/// `hepnn::abi_tag_of_this_configuration()` (and every other inline function of hepnn) under one
/// name, the linker would keep one definition for both, and the two tags below would be equal.
#include <cmath>
#include <cstdio>
#include <string>

#include "abi/abi_tu.hpp"

int main() {
  const AbiResult a = run_tu_a(), b = run_tu_b();
  int failures = 0;
  const auto fail = [&](const std::string& what) {
    std::printf("FAILED: %s\n", what.c_str());
    ++failures;
  };
  std::printf("translation unit a: %s\ntranslation unit b: %s\n", a.tag.c_str(), b.tag.c_str());
  if (a.tag == b.tag) fail("the two translation units were built with the same configuration; the test proves nothing");
  if (a.tag_called != a.tag) fail("translation unit a ran the inline function of configuration " + a.tag_called);
  if (b.tag_called != b.tag) fail("translation unit b ran the inline function of configuration " + b.tag_called);
  if (a.scores.size() != 256 || b.scores.size() != 256) fail("predict returned the wrong number of scores");
  double worst = 0;
  for (std::size_t i = 0; i < a.scores.size() && i < b.scores.size(); ++i)
    worst = std::fmax(worst, std::fabs(double(a.scores[i]) - double(b.scores[i])) / (1e-3 + std::fabs(double(b.scores[i]))));
  std::printf("largest relative difference of the scores: %.3g\n", worst);
  if (!(worst < 1e-4)) fail("the two configurations compute different networks");  // float rounding only
  if (a.dropout_mask != b.dropout_mask) fail("the two configurations drew different dropout masks");
  if (failures == 0) std::printf("abi: each translation unit ran its own configuration, with the same results\n");
  return failures == 0 ? 0 : 1;
}
