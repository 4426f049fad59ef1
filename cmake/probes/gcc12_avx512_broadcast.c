/* GCC 12.1/12.2 miscompile (see cmake/hepnnCompilerChecks.cmake and docs/architecture.md): with
   AVX-512 enabled, a 256-bit constant whose upper 64-bit words are zero and whose other words are
   equal is stored as a broadcast of its first word. Correct code stores 5 5 0 0. */
#include <string.h>
void hepnn_probe_store(long long *p) {
  const long long c[4] = {5, 5, 0, 0};
  memcpy(p, c, sizeof c);
}
