#!/usr/bin/env bash
# Proves both ways of consuming weft work:
#   (a) `cmake --install` weft into a temp prefix, then build the consumer with find_package(weft)
#       (CMAKE_PREFIX_PATH=<prefix>) and run it;
#   (b) build the consumer with add_subdirectory(<weft source>) and run it.
# Usage: check.sh WEFT_SOURCE_DIR CXX_COMPILER [WORK_DIR [WEFT_BUILD_DIR]]
# WORK_DIR (default ./consumer-check) is wiped first; everything it makes stays under it.
# WEFT_BUILD_DIR: install the libraries that build tree holds (the tests' own build) instead of
# configuring and building weft once more for (a); the add_subdirectory build (b) still builds it.
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 WEFT_SOURCE_DIR CXX_COMPILER [WORK_DIR]" >&2
  exit 2
fi
src=$(cd "$1" && pwd)
cxx=$2
work=${3:-$PWD/consumer-check}
built=${4:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

case "$work" in
  "" | / | "$src") echo "check.sh: refusing to use '$work' as the work dir" >&2; exit 2 ;;
esac
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
prefix=$work/prefix

# Runs a step quietly, logging to $work/<name>.log; on failure shows the log's tail.
step() {
  local name=$1
  shift
  echo "--- $name"
  if ! "$@" >"$work/$name.log" 2>&1; then
    echo "check.sh: step '$name' failed: $*" >&2
    tail -n 60 "$work/$name.log" >&2
    exit 1
  fi
}

# No build type: no optimizer and no debug info, so the builds of the library are quick; this
# check is about packaging, and the release preset's own tests run the optimized library.
common=(-DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=)

# (a) install, then find_package.
if [[ -n "$built" ]]; then
  step weft-install cmake --install "$built" --prefix "$prefix"
else
  step weft-configure cmake -S "$src" -B "$work/weft-build" "${common[@]}" \
    -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_BENCHMARKS=OFF -DWEFT_BUILD_EXAMPLES=OFF
  step weft-build cmake --build "$work/weft-build" -j2
  step weft-install cmake --install "$work/weft-build"
fi
config=$(find "$prefix" -name weftConfig.cmake -print -quit)
if [[ -z "$config" ]]; then
  echo "check.sh: cmake --install put no weftConfig.cmake under $prefix" >&2
  exit 1
fi
echo "    installed: ${config#"$prefix"/}"

step package-configure cmake -S "$here" -B "$work/package-build" "${common[@]}" \
  -DWEFT_CONSUME_MODE=package -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
found=$(sed -n 's/^weft_DIR:PATH=//p' "$work/package-build/CMakeCache.txt")
if [[ "$found" != "$prefix"/* ]]; then
  echo "check.sh: find_package(weft) found '$found', not the package installed in $prefix" >&2
  exit 1
fi
step package-build cmake --build "$work/package-build" -j2
echo "--- package-run"
"$work/package-build/consumer"

# (b) add_subdirectory.
step subdirectory-configure cmake -S "$here" -B "$work/subdirectory-build" "${common[@]}" \
  -DWEFT_CONSUME_MODE=subdirectory -DWEFT_SOURCE_DIR="$src"
step subdirectory-build cmake --build "$work/subdirectory-build" -j2
echo "--- subdirectory-run"
"$work/subdirectory-build/consumer"

echo "check.sh: find_package and add_subdirectory both work"
