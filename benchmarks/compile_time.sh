#!/usr/bin/env bash
# Compile time of a user program (benchmarks/compile_time/user_dense.cpp: the umbrella header, a
# dense net trained, predicted and evaluated), built as a user would with g++ and the flags that
# hepnn's CMake package gives (docs/building.md), in four ways:
#   header-only      hepnn as it is
#   pch              <hepnn/hepnn.hpp> as a precompiled header (hepnn_target_precompile_headers)
#   precompiled      -DHEPNN_PRECOMPILED and the library of src/instantiate_cpu.cpp (hepnn::precompiled)
#   precompiled+pch  both
# Each program is compiled and linked N times (default 3); the table gives the median, plus the
# one-time cost (the precompiled header, the library) that a first build pays on top.
#
#   benchmarks/compile_time.sh [N]          from the repository root; CXX, CXXFLAGS_EXTRA to vary
#
# The whole run holds /tmp/hepnn-build.lock (flock), so no other build shares the machine.
set -euo pipefail
if [[ -z "${HEPNN_CT_LOCKED:-}" ]]; then
  echo "waiting for /tmp/hepnn-build.lock ..." >&2
  exec env HEPNN_CT_LOCKED=1 flock /tmp/hepnn-build.lock "$0" "$@"
fi
N=${1:-3}
CXX=${CXX:-g++}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d /tmp/hepnn-compile-time.XXXXXX)
trap 'rm -rf "$W"' EXIT
SRC=$ROOT/benchmarks/compile_time/user_dense.cpp

# what hepnn::hepnn gives a consumer on this machine (OpenMP, zlib and OpenBLAS found, GCC 12 with
# the AVX-512 workaround), at -O2 and -march=native (the plain command line of docs/building.md;
# hepnn::precompiled passes -march=native on)
DEFS="-DEIGEN_DONT_PARALLELIZE -DHEPNN_GCC12_AVX512_CHECKED -DHEPNN_HAVE_ZLIB -DHEPNN_USE_OPENBLAS"
FLAGS="-std=c++20 -O2 -march=native -fopenmp -mtune-ctrl=^inter_unit_moves_to_vec $DEFS ${CXXFLAGS_EXTRA:-}"
INC="-I$ROOT/include -isystem /usr/include/eigen3"
LIBS="-lopenblas -lz"

secs() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }

echo "== hepnn compile time ($(date -u +%Y-%m-%dT%H:%MZ), git $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- include src || echo ', headers modified'))"
echo "machine:  $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB"
echo "compiler: $($CXX --version | head -1)"
echo "flags:    $CXX $FLAGS $INC <src> -o <prog> $LIBS"
echo "lock:     all compilations ran holding /tmp/hepnn-build.lock (no other build at the same time)"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at the start"
echo "runs:     $N per variant, median of wall-clock seconds (compile + link)"
echo

# one-time costs
mkdir -p "$W/pch" "$W/pchp"
echo '#include <hepnn/hepnn.hpp>' > "$W/pch/hepnn_pch.hpp"
cp "$W/pch/hepnn_pch.hpp" "$W/pchp/hepnn_pch.hpp"
t_pch=$(secs $CXX $FLAGS $INC -x c++-header "$W/pch/hepnn_pch.hpp" -o "$W/pch/hepnn_pch.hpp.gch")
t_pchp=$(secs $CXX $FLAGS -DHEPNN_PRECOMPILED $INC -x c++-header "$W/pchp/hepnn_pch.hpp" -o "$W/pchp/hepnn_pch.hpp.gch")
t_lib=$(secs $CXX $FLAGS $INC -c "$ROOT/src/instantiate_cpu.cpp" -o "$W/instantiate_cpu.o")
ar rcs "$W/libhepnn_precompiled.a" "$W/instantiate_cpu.o"

declare -A cmd
cmd[header-only]="$CXX $FLAGS $INC $SRC -o $W/prog $LIBS"
cmd[pch]="$CXX $FLAGS $INC -Winvalid-pch -include $W/pch/hepnn_pch.hpp $SRC -o $W/prog $LIBS"
cmd[precompiled]="$CXX $FLAGS -DHEPNN_PRECOMPILED $INC $SRC -o $W/prog $W/libhepnn_precompiled.a $LIBS"
cmd[precompiled+pch]="$CXX $FLAGS -DHEPNN_PRECOMPILED $INC -Winvalid-pch -include $W/pchp/hepnn_pch.hpp $SRC -o $W/prog $W/libhepnn_precompiled.a $LIBS"
declare -A once=([header-only]=0 [pch]=$t_pch [precompiled]=$t_lib [precompiled+pch]=$(echo "$t_lib + $t_pchp" | bc))
declare -A what=([header-only]="-" [pch]="precompiled header" [precompiled]="library (float+double)" [precompiled+pch]="library + precompiled header")

ref=""
printf '| %-16s | %-16s | %-16s | %-36s | %-11s |\n' variant "program (median)" "runs" "one-time, first build only" "first build"
printf '|%s|%s|%s|%s|%s|\n' ------------------ ------------------ ------------------ -------------------------------------- -------------
for v in header-only pch precompiled precompiled+pch; do
  ts=()
  for ((i = 0; i < N; ++i)); do ts+=("$(secs ${cmd[$v]})"); done
  m=$(median "${ts[@]}")
  out=$("$W/prog")
  if [[ -z "$ref" ]]; then ref=$out; elif [[ "$out" != "$ref" ]]; then echo "ERROR: $v prints other results" >&2; exit 1; fi
  printf '| %-16s | %14.1f s | %-16s | %-36s | %9.1f s |\n' "$v" "$m" "$(printf '%.1f ' "${ts[@]}")" \
    "$(printf '%.1f s %s' "${once[$v]}" "${what[$v]}")" "$(echo "$m + ${once[$v]}" | bc)"
done
echo
echo "all four programs print the same results, bit for bit (%a):"
echo "$ref" | sed 's/^/  /'
echo
echo "commands:"
for v in header-only pch precompiled precompiled+pch; do echo "  $v: ${cmd[$v]//$W/\$W}"; done
echo "  precompiled header: $CXX $FLAGS [-DHEPNN_PRECOMPILED] $INC -x c++-header \$W/pch/hepnn_pch.hpp -o \$W/pch/hepnn_pch.hpp.gch"
echo "  library: $CXX $FLAGS $INC -c src/instantiate_cpu.cpp -o \$W/instantiate_cpu.o && ar rcs \$W/libhepnn_precompiled.a \$W/instantiate_cpu.o"
echo
echo "where the time goes (g++ -ftime-report, one compilation to an object file each; wall seconds):"
for v in header-only precompiled; do
  d=""; [[ $v == precompiled ]] && d=-DHEPNN_PRECOMPILED
  $CXX $FLAGS $d $INC -c "$SRC" -o "$W/prog.o" -ftime-report 2> "$W/report.txt" || true
  echo "  $v:"
  grep -E '^ (phase parsing|phase lang. deferred|phase opt and generate|template instantiation|callgraph functions expansion|callgraph ipa passes|TOTAL) ' "$W/report.txt" |
    awk -F: '{r = $2; gsub(/\([^)]*\)/, "", r); split(r, a, " "); sub(/ +$/, "", $1); printf "    %-32s %6s s\n", $1, a[3]}'
done
