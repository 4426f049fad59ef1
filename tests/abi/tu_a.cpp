#include "abi/abi_tu_body.inc"
AbiResult run_tu_a() { return run_here(); }
