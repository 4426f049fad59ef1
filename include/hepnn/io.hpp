/// @file io.hpp
/// @brief Umbrella header for hepnn's file input/output (HDF5 data sets and model files).
///
/// Needs the HDF5 C library and nlohmann-json (Debian: libhdf5-dev nlohmann-json3-dev); link
/// the CMake target hepnn::io. hepnn/hepnn.hpp does not include it, so programs that do not
/// read files build without HDF5.
#pragma once
#include "hepnn/io/requirements.hpp"  // first: one clear message when HDF5 or nlohmann-json is missing

#include "hepnn/io/config_json.hpp"
#include "hepnn/io/data_file.hpp"
#include "hepnn/io/hdf5.hpp"
#include "hepnn/layers/registry.hpp"
#include "hepnn/io/model_file.hpp"
#include "hepnn/io/graph_file.hpp"
#include "hepnn/io/named_data.hpp"
#include "hepnn/io/streaming.hpp"
#include "hepnn/io/keras.hpp"
