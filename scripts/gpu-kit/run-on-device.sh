#!/usr/bin/env bash
# Builds and runs scripts/gpu-check on a GPU machine that has CUDA, cmake, ninja, a C++ compiler and
# PyTorch (with libnccl.so.2 in its wheels) but none of the Debian -dev packages, no Open MPI and no
# network. Everything else comes from this kit (Debian 12 packages unpacked with dpkg -x; see
# README.txt beside this file).
#
#   bash build-gpu-kit/run-on-device.sh          (from the repository root; OUT=... optional)
#
# Results: $OUT/gpu-check/ (gpu-check.json, device-calibrated.yaml, gpu-dp-1gpu/...), and the whole
# console output in $OUT/run-on-device.log.
# Exit status: 0 all done; 1 setup/configure failed; 2 scripts/gpu-check failed; 3 gpu-check passed
# but the end-to-end dmlsim-rank run was skipped (Open MPI or dmlsim-rank build problem); 124 timed out.
# Environment overrides: KIT_TIME_LIMIT (seconds, default 460), NCCL_LIBRARY_PATH (a libnccl.so*),
# NCCL_HEADER_DIR (a folder with nccl.h), CUDACXX (nvcc). For testing the kit without a GPU:
# KIT_CONFIGURE_ONLY=1 stops after the CMake configure, KIT_BUILD_DIR (default build/gpu-check) and
# KIT_WORK (default build/kit-run) move the build and scratch folders, KIT_CUDA_ARCH (default native).
#
# Kept in git as scripts/gpu-kit/run-on-device.sh; scripts/gpu-kit/make-kit.sh installs it as
# build-gpu-kit/run-on-device.sh. Edit the copy in scripts/gpu-kit and rerun make-kit.sh (or copy it
# over by hand); see scripts/gpu-kit/README.md for how the device tool runs it.
set -uo pipefail

T0=$SECONDS
LIMIT=${KIT_TIME_LIMIT:-460}
KIT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$KIT/.." && pwd)
cd "$REPO" || exit 1
K=$KIT/root
KL=$K/usr/lib/x86_64-linux-gnu
PMIXD=$KL/pmix2
WORK=${KIT_WORK:-$REPO/build/kit-run}   # build/ is git-ignored; RUNPATHs may point here, so it stays
OUT=${OUT:-$REPO/build/kit-out}
mkdir -p "$WORK" "$OUT" || exit 1
LOG=$OUT/run-on-device.log
exec > >(tee -a "$LOG") 2>&1

step() { printf '\n===== [%3ds] %s\n' $((SECONDS - T0)) "$*"; }
info() { printf '  %s\n' "$*"; }
savelogs() {  # on failure: the logs travel back in $OUT/kit-logs (the console keeps only a tail)
  mkdir -p "$OUT/kit-logs" 2>/dev/null || return 0
  for f in "$WORK/preconfigure.log" build/gpu-check.configure.log build/gpu-check.rank.log; do
    [ -f "$f" ] && cp "$f" "$OUT/kit-logs/" 2>/dev/null
  done
}
die()  { savelogs; printf '\n!!!!! FAILED: %s\n' "$*"; exit "${2:-1}"; }
left() { echo $((LIMIT - (SECONDS - T0))); }
tailf() { [ -f "$1" ] && { printf -- '----- tail -n %s %s\n' "${2:-60}" "$1"; tail -n "${2:-60}" "$1"; printf -- '----- end of %s\n' "$1"; }; }

step "kit at $KIT, repository at $REPO, OUT=$OUT, time limit ${LIMIT}s"
[ -d "$K/usr" ] || die "the kit's root/ is missing: carry build-gpu-kit/root too"
# Executable bits, in case the copy lost them.
find "$K/usr/bin" "$K/tools/bin" -type f ! -perm -u+x -exec chmod u+x {} + 2>/dev/null
[ -f scripts/gpu-check ] || die "scripts/gpu-check not found: run from a copy of the repository"

# ---------------------------------------------------------------------------------------------
step "machine"
info "uname: $(uname -srm)"
# shellcheck disable=SC1091  # the device's /etc/os-release, not a file to follow here
[ -r /etc/os-release ] && info "os: $(. /etc/os-release; echo "${PRETTY_NAME:-?}")"
GLIBC=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
[ -n "$GLIBC" ] || GLIBC=$(ldd --version 2>/dev/null | head -1 | grep -oE '[0-9]+\.[0-9]+$')
info "glibc: ${GLIBC:-unknown}   nproc: $(nproc)   user: $(id -un 2>/dev/null || id -u)"
if command -v nvidia-smi >/dev/null; then
  timeout 30 nvidia-smi || info "(nvidia-smi failed or timed out: rc=$?)"
  timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>/dev/null
else
  info "nvidia-smi: NOT FOUND"
fi

ver_lt() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -1)" = "$1" ]; }

# ---------------------------------------------------------------------------------------------
step "tools"
NVCC=${CUDACXX:-}
[ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ] && NVCC=/usr/local/cuda/bin/nvcc
[ -z "$NVCC" ] && NVCC=$(command -v nvcc || true)
for t in cmake ninja c++ g++ gcc cc python3 pkg-config; do
  printf '  %-11s %s\n' "$t:" "$(command -v $t || echo 'NOT FOUND')"
done
info "nvcc:       ${NVCC:-NOT FOUND}"
[ -n "$NVCC" ] && timeout 20 "$NVCC" --version | tail -2 | sed 's/^/    /'
timeout 20 cmake --version | head -1 | sed 's/^/    /'
timeout 20 ninja --version 2>/dev/null | sed 's/^/    ninja /'
timeout 20 c++ --version 2>/dev/null | head -1 | sed 's/^/    c++: /'
command -v cmake >/dev/null || die "cmake not found"
command -v ninja >/dev/null || die "ninja not found (scripts/gpu-check configures with -G Ninja)"
command -v c++ >/dev/null || command -v g++ >/dev/null || die "no C++ compiler (c++/g++) on PATH"
[ -n "$NVCC" ] || die "nvcc not found (not in /usr/local/cuda/bin, not on PATH, CUDACXX unset)"

# ---------------------------------------------------------------------------------------------
step "environment from the kit"
export PATH="$K/usr/bin:$PATH"
if ! pkg-config --version >/dev/null 2>&1; then
  export PATH="$PATH:$K/tools/bin"; info "no pkg-config on this machine: using the kit's pkgconf 1.8.1"
fi
LDP="$KL:$KL/openmpi/lib:$PMIXD/lib:$KL/openblas-pthread:$K/usr/lib/libpsm1"
if [ -n "$GLIBC" ] && ver_lt "$GLIBC" 2.36; then
  # Debian 12's libevent needs GLIBC_2.36 (arc4random); Debian 11's build of the same 2.1.12 does not.
  LDP="$K/fallback/glibc-pre-2.36:$LDP"; info "glibc $GLIBC < 2.36: using Debian 11's libevent 2.1.12"
fi
if [ -n "$GLIBC" ] && ver_lt "$GLIBC" 2.34; then
  info "WARNING: glibc $GLIBC < 2.34: the kit's Debian 12 libraries need GLIBC_2.34 and will probably not load"
fi
# Plain system libraries the kit's libraries need; used only where this machine lacks them.
mkdir -p "$WORK/fallback-lib"; rm -f "$WORK/fallback-lib"/*
LDCACHE=$( (ldconfig -p || /sbin/ldconfig -p) 2>/dev/null)
for so in "$K"/fallback/x86_64-linux-gnu/*.so.[0-9]; do
  n=${so##*/}
  found=0
  for p in $(awk -v n="$n" '$1 == n {print $NF}' <<<"$LDCACHE") /lib/x86_64-linux-gnu/$n /usr/lib/x86_64-linux-gnu/$n /lib64/$n /usr/lib64/$n; do
    [ -f "$p" ] && { found=1; break; }
  done
  if [ $found = 0 ]; then ln -sf "$so" "$WORK/fallback-lib/$n"; info "this machine lacks $n: using the kit's (Debian 12) copy"; fi
done
# Order: the kit's own directories first, then what the machine had, then the fallbacks. The NCCL
# step below appends NCCL's directory at the very end (see the note there).
export LD_LIBRARY_PATH="$LDP${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}:$WORK/fallback-lib"
# Open MPI and PMIx were built for /usr: relocate them into the kit.
export OPAL_PREFIX="$K/usr" OPAL_SYSCONFDIR="$K/etc/openmpi" MPI_HOME="$K/usr"
export PMIX_PREFIX="$PMIXD" PMIX_PKGDATADIR="$PMIXD/share/pmix" PMIX_PKGLIBDIR="$PMIXD/lib/pmix" \
       PMIX_MCA_mca_base_component_path="$PMIXD/lib/pmix"
# One node, shared memory: keep Open MPI off InfiniBand/UCX/libfabric probing; root is allowed.
export OMPI_MCA_pml=${OMPI_MCA_pml:-ob1} OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader,tcp} \
       OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none} \
       OMPI_MCA_btl_base_warn_component_unused=0 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Without ssh/rsh, Open MPI 4.1's rsh launcher aborts even a one-node run: use the isolated launcher.
if [ ! -x "$(command -v ssh)" ] && [ ! -x "$(command -v rsh)" ] && [ -z "${OMPI_MCA_plm:-}" ]; then
  export OMPI_MCA_plm=isolated; info "no ssh/rsh here: OMPI_MCA_plm=isolated"
fi
export NCCL_DEBUG=${NCCL_DEBUG:-WARN} NCCL_IB_DISABLE=${NCCL_IB_DISABLE:-1}
# CMake: find the kit's packages; CMake 4 refuses policy versions < 3.5 in old package files.
export CMAKE_PREFIX_PATH="$K/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
export CMAKE_LIBRARY_PATH="$KL:$KL/openblas-pthread${CMAKE_LIBRARY_PATH:+:$CMAKE_LIBRARY_PATH}"
export CMAKE_INCLUDE_PATH="$K/usr/include/x86_64-linux-gnu/openblas-pthread${CMAKE_INCLUDE_PATH:+:$CMAKE_INCLUDE_PATH}"
export CMAKE_POLICY_VERSION_MINIMUM=${CMAKE_POLICY_VERSION_MINIMUM:-3.5}
# pkg-config files of the kit, with their /usr prefix rewritten to the kit.
rm -rf "$WORK/pkgconfig"; mkdir -p "$WORK/pkgconfig"
for pc in "$KL"/pkgconfig/*.pc "$K"/usr/share/pkgconfig/*.pc "$KL"/openblas-pthread/pkgconfig/*.pc; do
  [ -f "$pc" ] && sed -E "s#(=|-I|-L)/usr(/|\$)#\\1$K/usr\\2#g" "$pc" >"$WORK/pkgconfig/${pc##*/}"
done
export PKG_CONFIG_PATH="$WORK/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
info "PATH=$PATH"
info "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
info "OPAL_PREFIX=$OPAL_PREFIX"
info "CMAKE_PREFIX_PATH=$CMAKE_PREFIX_PATH"

step "kit check: shared libraries and Open MPI"
bad=0
for f in "$K/usr/bin/orterun" "$K/usr/bin/opal_wrapper" "$KL/libmpi.so.40" "$KL/libopen-rte.so.40" "$KL/libopen-pal.so.40" \
         "$KL/libyaml-cpp.so.0.7" "$KL/libfmt.so.9" "$KL/openblas-pthread/libopenblas.so.0" "$PMIXD/lib/libpmix.so.2" \
         "$KL/openmpi/lib/openmpi3/mca_pmix_ext3x.so" "$KL/openmpi/lib/openmpi3/mca_btl_vader.so"; do
  miss=$(ldd "$f" 2>&1 | grep -E 'not found|version .* not found' || true)
  # shellcheck disable=SC2295,SC2001
  if [ -n "$miss" ]; then bad=1; info "${f#$K/}:"; sed 's/^/      /' <<<"$miss"; fi
done
[ $bad = 0 ] && info "all kit libraries resolve"
timeout 30 mpirun --version 2>&1 | head -1 | sed 's/^/  /' || die "the kit's mpirun does not run"
if timeout -k 5 60 mpirun -np 1 --oversubscribe true >"$WORK/mpirun-smoke.log" 2>&1; then
  info "mpirun -np 1 true: OK"
else
  info "WARNING: 'mpirun -np 1 true' failed (rc=$?):"; tail -n 30 "$WORK/mpirun-smoke.log" | sed 's/^/      /'
fi
info "mpicc -showme:compile: $(timeout 20 mpicc -showme:compile 2>&1)"
info "mpicc -showme:link:    $(timeout 20 mpicc -showme:link 2>&1)"
[ $bad = 0 ] || info "WARNING: some kit libraries do not resolve (above); the build or mpirun may fail"

# ---------------------------------------------------------------------------------------------
step "NCCL"
hdr_ver() { awk '/#define NCCL_MAJOR/{a=$3}/#define NCCL_MINOR/{b=$3}/#define NCCL_PATCH/{c=$3}END{if(a!="")print a"."b"."c}' "$1" 2>/dev/null; }
lib_ver() {
  timeout 30 python3 -c 'import ctypes,sys
l=ctypes.CDLL(sys.argv[1]); v=ctypes.c_int(0); l.ncclGetVersion(ctypes.byref(v)); v=v.value
print("%d.%d.%d"%(v//10000,(v%10000)//100,v%100) if v>=10000 else "%d.%d.%d"%(v//1000,(v%1000)//100,v%100))' "$1" 2>/dev/null ||
    strings "$1" 2>/dev/null | grep -m1 -oE 'NCCL version [0-9.]+[^ ]*' | awk '{print $3}'
}
NLIB=""; NHDR=""
if [ -n "${NCCL_LIBRARY_PATH:-}" ] && [ -e "$NCCL_LIBRARY_PATH" ]; then
  NLIB=$NCCL_LIBRARY_PATH; info "NCCL_LIBRARY_PATH given: $NLIB"
fi
if [ -z "$NLIB" ]; then  # the CUDA toolkit's or the system's own, with its nccl.h
  for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/lib; do
    for x in "$d"/libnccl.so.2 "$d"/libnccl.so; do
      [ -f "$x" ] && [ -s "$(readlink -f "$x")" ] && { NLIB=$x; info "found $NLIB"; break 2; }
    done
  done
fi
if [ -z "$NLIB" ]; then  # PyTorch's wheels (nvidia-nccl-cu13)
  info "looking in python3's site-packages (PyTorch's nvidia-nccl wheel)"
  PYL=$(timeout 60 python3 - <<'EOF' 2>&1
import glob, os, site, sys
c = []
try:
    import nvidia.nccl as m
    ps = list(getattr(m, "__path__", []) or [])
    if getattr(m, "__file__", None): ps.append(os.path.dirname(m.__file__))
    for p in ps: c += glob.glob(os.path.join(p, "lib", "libnccl.so*"))
except Exception as e:
    print("# import nvidia.nccl: %s" % e)
sp = []
try: sp += site.getsitepackages()
except Exception: pass
try: sp.append(site.getusersitepackages())
except Exception: pass
sp += [p for p in sys.path if p.endswith("-packages")]
for s in dict.fromkeys(sp):
    for pat in ("nvidia/nccl/lib/libnccl.so*", "nvidia/*/lib/libnccl.so*", "torch/lib/libnccl.so*"):
        c += glob.glob(os.path.join(s, pat))
for x in dict.fromkeys(c): print(x)
EOF
  )
  # shellcheck disable=SC2001
  sed 's/^/    /' <<<"$PYL"
  for x in $(grep -v '^#' <<<"$PYL" | grep -E 'libnccl\.so\.2$') $(grep -v '^#' <<<"$PYL" | grep -E 'libnccl\.so'); do
    [ -f "$x" ] && [ -s "$(readlink -f "$x")" ] && { NLIB=$x; break; }
  done
fi
if [ -z "$NLIB" ]; then
  info "searching the disk for libnccl.so* (60 s at most)"
  NLIB=$(timeout 60 find / \( -path /proc -o -path /sys -o -path /dev -o -path "$REPO" \) -prune -o -name 'libnccl.so*' -print 2>/dev/null | grep -E 'libnccl\.so(\.2)?$' | head -1)
fi
[ -n "$NLIB" ] || die "no libnccl.so* on this machine (set NCCL_LIBRARY_PATH=/path/to/libnccl.so.2)"
NLIB=$(readlink -f "$NLIB")
NDIR=$(dirname "$NLIB")
for h in "${NCCL_HEADER_DIR:-}" "$NDIR/../include" /usr/local/cuda/include /usr/include "$KIT/nccl/include"; do
  [ -n "$h" ] && [ -f "$h/nccl.h" ] && { NHDR=$(cd "$h" && pwd); break; }
done
# The library's own nccl.h when it has one, else the CUDA toolkit's, else the kit's copy (2.28.9).
info "library: $NLIB (version $(lib_ver "$NLIB" || echo '?'))"
info "header:  $NHDR/nccl.h (version $(hdr_ver "$NHDR/nccl.h"))"
# find_library(... nccl) wants a libnccl.so: link to it from the build tree when only .so.2 exists.
mkdir -p "$WORK/nccl/lib"; rm -f "$WORK/nccl/lib"/*
ln -sf "$NLIB" "$WORK/nccl/lib/libnccl.so.2"; ln -sf "$NLIB" "$WORK/nccl/lib/libnccl.so"
NCCL_LIB="$WORK/nccl/lib/libnccl.so"
# NCCL's own directory goes LAST, after the kit's. On a machine that has its own Open MPI, NCCL often
# sits beside it (e.g. /usr/lib/x86_64-linux-gnu on Ubuntu 24.04, Open MPI 4.1.6): put first, that
# directory shadows the kit's libmpi/libopen-pal/libpmix and mpirun segfaults inside libpmix. The
# build/kit-run/nccl/lib symlinks come first so the found libnccl still wins. env.sh (saved next)
# keeps this order, so plain `mpirun` in scripts/gpu-check and in manual reruns gets the kit's.
export LD_LIBRARY_PATH="$WORK/nccl/lib:$LD_LIBRARY_PATH:$NDIR"  # NCCL's own directory last: on a machine with its own Open MPI it also holds that one
export CMAKE_LIBRARY_PATH="$WORK/nccl/lib:$CMAKE_LIBRARY_PATH" CMAKE_INCLUDE_PATH="$NHDR:$CMAKE_INCLUDE_PATH"
export -p | grep -E '^declare -x (PATH|LD_LIBRARY_PATH|OPAL_[A-Z]+|PMIX_[A-Za-z_]+|OMPI_[A-Za-z_]+|MPI_HOME|NCCL_[A-Z_]+|CMAKE_[A-Z_]+|PKG_CONFIG_PATH)=' >"$WORK/env.sh"
info "environment saved in $WORK/env.sh (source it to rerun things by hand)"
(timeout 90 python3 -c 'import torch; print("  torch", torch.__version__, "cuda", torch.version.cuda, "nccl", ".".join(map(str, torch.cuda.nccl.version())) if hasattr(torch.cuda, "nccl") else "?")' 2>&1 | tail -1) || true

# ---------------------------------------------------------------------------------------------
# scripts/gpu-check configures build/gpu-check with its own flags; configuring that folder first with
# the kit's paths puts them in the CMake cache, where gpu-check's own configure keeps them.
step "pre-configure build/gpu-check with the kit's paths"
B=${KIT_BUILD_DIR:-build/gpu-check}
if [ -f "$B/CMakeCache.txt" ] && ! grep -qxF -e "yaml-cpp_DIR:UNINITIALIZED=$KL/cmake/yaml-cpp" -e "yaml-cpp_DIR:PATH=$KL/cmake/yaml-cpp" "$B/CMakeCache.txt"; then
  info "removing a build/gpu-check configured without this kit"; rm -rf "$B"
fi
mkdir -p build
if pkg-config --exists simgrid 2>/dev/null; then only=OFF; else only=ON; fi
CFG=(cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDMLSIM_BUILD_TESTS=OFF -DDMLSIM_BUILD_BENCH=OFF
  -DDMLSIM_BUILD_GUI=OFF -DDMLSIM_WITHOUT_SIMGRID="$only" -DCMAKE_CUDA_ARCHITECTURES="${KIT_CUDA_ARCH:-native}"
  -DCMAKE_CUDA_COMPILER="$NVCC"
  -Dyaml-cpp_DIR="$KL/cmake/yaml-cpp" -Dfmt_DIR="$KL/cmake/fmt"
  -Dnlohmann_json_DIR="$K/usr/share/cmake/nlohmann_json" -DCLI11_DIR="$K/usr/share/cmake/CLI11"
  -DMPI_C_COMPILER="$K/usr/bin/mpicc" -DMPI_CXX_COMPILER="$K/usr/bin/mpicxx" -DMPIEXEC_EXECUTABLE="$K/usr/bin/mpiexec"
  -DBLA_VENDOR=OpenBLAS -DCBLAS_INCLUDE_DIR="$K/usr/include/x86_64-linux-gnu/openblas-pthread"
  -DNCCL_INCLUDE_DIR="$NHDR" -DNCCL_LIBRARY="$NCCL_LIB"
  "-DCMAKE_EXE_LINKER_FLAGS=-Wl,-rpath-link,$KL:$PMIXD/lib:$KL/openblas-pthread:$WORK/fallback-lib")
printf '  %q' "${CFG[@]}"; echo
t=$(left); [ "$t" -gt 200 ] && t=200
timeout -k 5 "$t" "${CFG[@]}" >"$WORK/preconfigure.log" 2>&1
rc=$?
grep -E "dmlsim:|CUDA/NCCL|Found (MPI|BLAS|CUDAToolkit|PkgConfig)|Could NOT|CMake Error" "$WORK/preconfigure.log" | sed 's/^/  /'
if [ $rc != 0 ]; then tailf "$WORK/preconfigure.log" 80; die "CMake configure failed (rc=$rc)" 1; fi
info "found by configure:"
grep -E "^(yaml-cpp_DIR|fmt_DIR|nlohmann_json_DIR|CLI11_DIR|MPI_C_COMPILER|MPI_mpi_LIBRARY|MPI_C_HEADER_DIR|BLAS_openblas_LIBRARY|CBLAS_INCLUDE_DIR|NCCL_INCLUDE_DIR|NCCL_LIBRARY|CMAKE_CUDA_COMPILER|CMAKE_CXX_COMPILER|CUDAToolkit_BIN_DIR):" "$B/CMakeCache.txt" | sed 's/^/    /'
grep -q "CUDA/NCCL backend ON" "$WORK/preconfigure.log" || { tailf "$WORK/preconfigure.log" 60; die "configure did not turn the CUDA/NCCL backend on" 1; }
grep -q "real backend OFF" "$WORK/preconfigure.log" && info "WARNING: real backend OFF: dmlsim-rank will not build (MPI or BLAS not found)"
if [ "${KIT_CONFIGURE_ONLY:-0}" = 1 ]; then step "KIT_CONFIGURE_ONLY=1: stopping after configure"; exit 0; fi

# ---------------------------------------------------------------------------------------------
step "scripts/gpu-check (OUT=$OUT/gpu-check)"
t=$(( $(left) - 10 ))
[ "$t" -gt 30 ] || die "no time left for scripts/gpu-check" 124
info "time limit for it: ${t}s"
rm -rf "$OUT/gpu-check"
OUT="$OUT/gpu-check" timeout -k 10 "$t" bash scripts/gpu-check 2>&1 | tee "$WORK/gpu-check.log"
rc=${PIPESTATUS[0]}
step "result (scripts/gpu-check rc=$rc)"
# shellcheck disable=SC2086
if [ $rc != 0 ]; then
  [ $rc = 124 ] || [ $rc = 137 ] && info "scripts/gpu-check TIMED OUT after ${t}s"
  tailf build/gpu-check.configure.log 40
  tailf build/gpu-check.rank.log 60
  tailf "$OUT/gpu-check/gpu-dp-1gpu/log.txt" 40
  [ $rc = 124 ] || [ $rc = 137 ] && die "scripts/gpu-check timed out" 124
  die "scripts/gpu-check failed (rc=$rc)" 2
fi
# shellcheck disable=SC2012
ls -la "$OUT/gpu-check" "$OUT/gpu-check/gpu-dp-1gpu" 2>/dev/null | sed 's/^/  /'
[ -f "$OUT/gpu-check/gpu-check.json" ] && { info "gpu-check.json (first 3000 bytes):"; head -c 3000 "$OUT/gpu-check/gpu-check.json"; echo; }
if [ ! -f "$OUT/gpu-check/gpu-dp-1gpu/summary.json" ]; then
  tailf build/gpu-check.rank.log 80
  die "gpu-check passed, but the end-to-end dmlsim-rank --gpu run was skipped (see above)" 3
fi
step "done in $((SECONDS - T0))s: gpu-check and the end-to-end run passed"
exit 0
