# shellcheck shell=bash
# Shared by the scripts/ front doors: where things are, and how to install and build them.

ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${OTEL_BUILD_DIR:-$ROOT_DIR/build}

# Debian packages the build and the tests need (DESIGN.md §7). One list, used by every script.
DEBIAN_PACKAGES=(
  build-essential cmake pkg-config
  libprotobuf-c-dev protobuf-c-compiler
  libcurl4-openssl-dev libmicrohttpd-dev libgnutls28-dev libjansson-dev libyaml-dev
  zlib1g-dev libdeflate-dev libzstd-dev libcmocka-dev libpcre2-dev libgrpc-dev
  valgrind shellcheck clang-format
  rsyslog # the peer of `scripts/bench filelog` (imfile -> omfile)
)
# Installed only when the command is missing: Node.js may come from another Debian archive
# that bundles npm, and Debian's own npm package would conflict with it.
NODE_PACKAGES=(nodejs npm)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs the Debian packages that are missing. As root it runs apt-get; otherwise it prints
# the exact command to run and stops.
ensure_packages() {
  local missing=() pkg
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$pkg")
  done
  command -v npm >/dev/null 2>&1 || missing+=("${NODE_PACKAGES[@]}")
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    die "missing Debian packages; run: sudo apt-get install -y ${missing[*]}"
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install failed for: ${missing[*]}"
}

# Configures (once) and builds incrementally into $BUILD_DIR. Extra CMake arguments come from
# OTEL_CMAKE_ARGS (e.g. "-DSANITIZE=ON" with OTEL_BUILD_DIR=build-asan).
build_project() {
  if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    log "configuring into $BUILD_DIR"
    # shellcheck disable=SC2086 # word splitting of the extra arguments is wanted
    cmake -S "$ROOT_DIR" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${OTEL_CMAKE_ARGS:-} >/dev/null ||
      die "cmake configure failed"
  fi
  log "building"
  cmake --build "$BUILD_DIR" -j "$(nproc)" >"$BUILD_DIR/build.log" 2>&1 || {
    tail -n 40 "$BUILD_DIR/build.log" >&2
    die "build failed (full log: $BUILD_DIR/build.log)"
  }
}
