// hepnn::precompiled: the explicit instantiations that include/hepnn/precompiled.hpp declares
// extern, for float and double on the CPU. Compiled with the flags of the programs that link it
// (the target passes its instruction-set flag on to them), so both name the same ABI namespace.
#define HEPNN_INSTANTIATING_PRECOMPILED
#include "hepnn/precompiled.hpp"

HEPNN_INSTANTIATE_CPU(, float)
HEPNN_INSTANTIATE_CPU(, double)
