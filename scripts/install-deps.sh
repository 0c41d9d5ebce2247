#!/usr/bin/env bash
# Installs every system package lorc needs to build and test (idempotent).
# Versions: Debian 12 (bookworm) + bookworm-security, which carries LLVM/MLIR 22.1.8.
set -euo pipefail
PKGS=(
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22   # LLVM/MLIR 22 (libMLIR.so, libLLVM.so)
  cmake ninja-build ccache g++ pkg-config                            # build
  libopenblas-dev liblapacke-dev                                     # CPU GEMMs (cblas), SVD (later)
  libdnnl-dev                                                        # CPU GEMMs (oneDNN matmul, packed weights, bf16)
  libgtest-dev                                                       # unit tests
  python3 python3-pip python3-venv                                   # model fetch, goldens, lit
  zlib1g-dev libzstd-dev libxml2-dev libedit-dev libcurl4-openssl-dev # LLVM CMake config deps
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
