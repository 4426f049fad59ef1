#include "abi/abi_tu_body.inc"
AbiResult run_tu_b() { return run_here(); }
