/// @file core/version.hpp
/// @brief The hepnn version (kept equal to project(VERSION) in CMakeLists.txt; model files record it).
#pragma once

namespace hepnn {
inline constexpr const char* hepnn_version = "0.1.0";
}  // namespace hepnn
