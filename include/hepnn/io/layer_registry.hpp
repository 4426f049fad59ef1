/// @file io/layer_registry.hpp
/// @brief The layer registry moved to layers/registry.hpp (it needs no HDF5: functional models
/// on the GPU use it too); this header stays for the programs that include it.
#pragma once
#include "hepnn/layers/registry.hpp"
