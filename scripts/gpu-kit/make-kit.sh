#!/usr/bin/env bash
# Rebuilds the git-ignored GPU build kit (build-gpu-kit/) that scripts/gpu-kit/run-on-device.sh uses
# to build and run scripts/gpu-check on a GPU machine without Debian -dev packages, Open MPI or
# network. Run it on a Debian 12 (bookworm) amd64 machine, from anywhere:
#
#   scripts/gpu-kit/make-kit.sh
#
# Steps: fetch the pinned .debs into build-gpu-kit-debs/ (apt-get download), skipping those already
# there; unpack them with dpkg -x into a staging
# folder; trim it; add the symlinks Debian makes with update-alternatives; make OpenBLASConfig.cmake
# relocatable; copy the fallback libraries, nccl.h, README.txt and run-on-device.sh; check the size;
# then replace the kit folder with the staging one. Nothing is compiled.
#
# Environment:
#   KIT_DIR      the kit to (re)create          (default: <repo>/build-gpu-kit; replaced as a whole)
#   DEBS_DIR     where the .debs are kept       (default: <repo>/build-gpu-kit-debs)
#   NCCL_HEADER  the nccl.h to copy into the kit (default: /usr/local/cuda/include/nccl.h, the CUDA
#                toolkit's, NCCL 2.28.9 when the kit was first made); NCCL_HEADER=skip leaves it out
#                (run-on-device.sh then needs an nccl.h on the device).
# Exit status: 0 done; non-zero on any failure (missing tool or .deb, download, checksum, size over
# 62 MiB), with a "make-kit: ERROR:" line saying why; the existing kit is then left as it was.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
KIT_DIR=${KIT_DIR:-$REPO/build-gpu-kit}
DEBS_DIR=${DEBS_DIR:-$REPO/build-gpu-kit-debs}
NCCL_HEADER=${NCCL_HEADER:-/usr/local/cuda/include/nccl.h}
MAX_MIB=62   # the device tool carries 64 MiB in all; the working tree needs ~1.5 MiB of that

die() { printf 'make-kit: ERROR: %s\n' "$*" >&2; exit 1; }
say() { printf 'make-kit: %s\n' "$*"; }

for t in dpkg dpkg-deb apt-get sha256sum du awk; do
  command -v "$t" >/dev/null || die "'$t' not found (this script expects a Debian 12 machine)"
done
KIT_DIR=${KIT_DIR%/}
case "$KIT_DIR" in ""|/|"$REPO") die "refusing KIT_DIR='$KIT_DIR'";; esac
if [ -e "$KIT_DIR" ] && [ ! -d "$KIT_DIR/root" ] && [ -n "$(ls -A "$KIT_DIR" 2>/dev/null)" ]; then
  die "$KIT_DIR exists and does not look like a kit (no root/): refusing to replace it"
fi

# ----------------------------------------------------------------------------------------------
# Packages, pinned to the versions the kit was first made with (Debian 12 bookworm, amd64).
# MAIN: unpacked into root/ (build: headers and CMake files; Open MPI 4.1.4 runtime; OpenBLAS
# pthread; libpkgconf3 + pkgconf-bin for the kit's pkg-config).
MAIN_PKGS=(
  libyaml-cpp-dev=0.7.0+dfsg-8+b1 libyaml-cpp0.7=0.7.0+dfsg-8+b1
  libfmt-dev=9.1.0+ds1-2 libfmt9=9.1.0+ds1-2
  nlohmann-json3-dev=3.11.2-2 libcli11-dev=2.1.2+ds-1
  libopenmpi-dev=4.1.4-3+b1 libopenblas-pthread-dev=0.3.21+ds-4
  libopenmpi3=4.1.4-3+b1 openmpi-bin=4.1.4-3+b1 openmpi-common=4.1.4-3
  libpmix2=4.2.2-1+deb12u1 libhwloc15=2.9.0-1
  libevent-core-2.1-7=2.1.12-stable-8+deb12u1 libevent-pthreads-2.1-7=2.1.12-stable-8+deb12u1
  libfabric1=1.17.0-3 libucx0=1.13.1-1 libibverbs1=44.0-2 ibverbs-providers=44.0-2
  librdmacm1=44.0-2 libnl-3-200=3.7.0-0.2+b1 libnl-route-3-200=3.7.0-0.2+b1
  libmunge2=0.5.15-2+deb12u1 libltdl7=2.4.7-7~deb12u1 libpsm2-2=11.2.185-2
  libpsm-infinipath1=3.3+20.604758e7-6.2
  libopenblas0-pthread=0.3.21+ds-4
  libpkgconf3=1.8.1-1 pkgconf-bin=1.8.1-1
)
# FALLBACK: plain system libraries, copied to root/fallback/x86_64-linux-gnu; run-on-device.sh puts
# them on LD_LIBRARY_PATH only for those the device lacks.
FALLBACK_PKGS=(
  zlib1g=1:1.2.13.dfsg-1+deb12u1 libudev1=252.39-1~deb12u2 libnuma1=2.0.16-1
  libatomic1=12.2.0-14+deb12u1 libuuid1=2.38.1-5+deb12u3
  libgfortran5=12.2.0-14+deb12u1 libquadmath0=12.2.0-14+deb12u1
)
# DEBIAN 11: libevent 2.1.12 built without arc4random (Debian 12's needs GLIBC_2.36), for devices with
# glibc < 2.36. Not in bookworm's apt sources: used only when these exact files (checked against
# their sha256 sums) are already in DEBS_DIR; without them the kit needs glibc >= 2.36 on the device
# (the lent GPU machine had 2.39).
DEB11_FILES=(
  "libevent-core-2.1-7_2.1.12-stable-1_amd64.deb 4885b583bc2422021d828aea19b1da61987456716f608caff86406dc44815fd7"
  "libevent-pthreads-2.1-7_2.1.12-stable-1_amd64.deb c3eb7512a9225510e7400d444a302bc98ce7ff15201a7efd2277fa105668966b"
)
DEB11_NAMES=" ${DEB11_FILES[*]%% *} "   # " file1 file2 ": skipped when looking for Debian 12's libevent

# ----------------------------------------------------------------------------------------------
mkdir -p "$DEBS_DIR"
DEBS_DIR=$(cd "$DEBS_DIR" && pwd)
say "kit: $KIT_DIR"
say "debs: $DEBS_DIR"

# The .deb of package $1 (pinned version $2) in DEBS_DIR: the pinned file if there, else the newest
# other version there (not Debian 11's libevent). Prints nothing when there is none.
find_deb() {
  local name=$1 ver=${2/:/%3a} f best=""
  for f in "$DEBS_DIR/${name}_${ver}_"*.deb; do [ -f "$f" ] && { echo "$f"; return; }; done
  for f in "$DEBS_DIR/${name}_"*.deb; do
    [ -f "$f" ] || continue
    case "$DEB11_NAMES" in *" ${f##*/} "*) continue;; esac
    best="$best$f"$'\n'
  done
  [ -n "$best" ] && printf '%s' "$best" | sort -V | tail -n 1
  return 0
}

apt_ready=""
fetch_deb() {  # apt-get download of $1=$2 into DEBS_DIR (the pinned version, else the current one)
  local name=$1 ver=$2
  if [ -z "$apt_ready" ]; then
    # shellcheck disable=SC1091
    . /etc/os-release 2>/dev/null || true
    [ "${VERSION_CODENAME:-}" = bookworm ] ||
      say "WARNING: this is not Debian 12 bookworm (${PRETTY_NAME:-unknown}): downloads may not match the kit"
    [ "$(dpkg --print-architecture)" = amd64 ] || die "apt-get download needs an amd64 machine"
    apt_ready=1
  fi
  say "downloading $name=$ver"
  if ! (cd "$DEBS_DIR" && apt-get download -q -o APT::Sandbox::User=root "$name=$ver"); then
    say "WARNING: $name=$ver is no longer in the archive: taking the current version (the kit may differ)"
    (cd "$DEBS_DIR" && apt-get download -q -o APT::Sandbox::User=root "$name") ||
      die "apt-get download $name failed (run 'apt-get update' first?)"
  fi
}

declare -A DEB
for e in "${MAIN_PKGS[@]}" "${FALLBACK_PKGS[@]}"; do
  name=${e%%=*} ver=${e#*=}
  f=$(find_deb "$name" "$ver")
  if [ -z "$f" ]; then fetch_deb "$name" "$ver"; f=$(find_deb "$name" "$ver"); fi
  [ -n "$f" ] || die "no .deb for $name in $DEBS_DIR after apt-get download"
  got=$(dpkg-deb -f "$f" Version)
  [ "$got" = "$ver" ] || say "WARNING: $name: using $got, the kit was made with $ver"
  DEB[$name]=$f
done

HAVE_DEB11=1
for e in "${DEB11_FILES[@]}"; do
  f=${e%% *} sum=${e##* }
  if [ ! -f "$DEBS_DIR/$f" ]; then
    say "no $f in $DEBS_DIR: the kit will need glibc >= 2.36 on the device"
    HAVE_DEB11=""
    continue
  fi
  echo "$sum  $DEBS_DIR/$f" | sha256sum -c --quiet - || die "$f: sha256 mismatch"
done
say "all $(( ${#MAIN_PKGS[@]} + ${#FALLBACK_PKGS[@]} + ${#DEB11_FILES[@]} )) .debs present"

# ----------------------------------------------------------------------------------------------
STAGE="$KIT_DIR.new.$$"
TMPX="$KIT_DIR.unpack.$$"
cleanup() { rm -rf "$STAGE" "$TMPX"; }
trap cleanup EXIT
rm -rf "$STAGE" "$TMPX"
mkdir -p "$STAGE" "$TMPX"
R=$STAGE/root
KL=$R/usr/lib/x86_64-linux-gnu
MI=$KL/openmpi/include

say "unpacking ${#MAIN_PKGS[@]} packages into root/"
for e in "${MAIN_PKGS[@]}"; do nice -n 10 dpkg -x "${DEB[${e%%=*}]}" "$R"; done
# Debian 12 still ships a few libraries in /lib (libnl-3): merge them into usr/lib as usrmerge does.
if [ -d "$R/lib" ]; then cp -a "${R:?}/lib/." "$R/usr/lib/"; rm -rf "${R:?}/lib"; fi
# pkgconf goes to tools/bin: run-on-device.sh uses it only where the device has no pkg-config.
mkdir -p "$R/tools/bin"
mv "$R/usr/bin/pkgconf" "$R/tools/bin/pkgconf"
ln -s pkgconf "$R/tools/bin/pkg-config"

say "trimming"
rm -rf "$R/usr/share/doc" "$R/usr/share/man" "$R/usr/share/lintian"
find "$R" -name '*.a' \( -type f -o -type l \) -delete
# OpenBLAS: BLAS only (the project calls cblas_* and openblas_set_num_threads); no LAPACK, and no
# reference-BLAS-named copy.
rm -f "$KL/openblas-pthread/libblas.so" "$KL/openblas-pthread/libblas.so.3" \
      "$KL/openblas-pthread/liblapack.so" "$KL/openblas-pthread/liblapack.so.3"
# Open MPI: no Fortran, Java or OpenSHMEM (libraries, wrappers, components, Fortran modules) ...
rm -rf "$KL/fortran"
rm -f "$KL"/libmpi_mpifh* "$KL"/libmpi_usempi* "$KL"/libmpi_java* "$KL"/liboshmem* \
      "$KL"/openmpi/lib/libmpi_mpifh* "$KL"/openmpi/lib/libmpi_usempi* "$KL"/openmpi/lib/libmpi_java* \
      "$KL"/openmpi/lib/liboshmem* \
      "$KL"/openmpi/lib/openmpi3/mca_{atomic,memheap,scoll,spml,sshmem}_*.so
rm -f "$R"/usr/bin/mpif77.openmpi "$R"/usr/bin/mpif90.openmpi "$R"/usr/bin/mpifort.openmpi \
      "$R"/usr/bin/mpijavac "$R"/usr/bin/mpijavac.pl "$R"/usr/bin/osh* "$R"/usr/bin/shmem*
rm -rf "$MI"/mpif*.h "$MI"/mpp "$MI"/shmem* "$MI"/pshmem* "$MI"/openshmem
# ... and none of its internal developer headers (opal/orte/oshmem, ompi/ except the C++ bindings
# that mpi.h includes).
rm -rf "$MI/openmpi/opal" "$MI/openmpi/orte" "$MI/openmpi/oshmem"
find "$MI/openmpi/ompi" -mindepth 1 -maxdepth 1 ! -name mpi -exec rm -rf {} +
find "$MI/openmpi/ompi/mpi" -mindepth 1 -maxdepth 1 ! -name cxx -exec rm -rf {} +

say "symlinks for Debian's alternatives"
for w in mpicc mpicxx mpiCC mpic++ mpirun mpiexec; do
  [ -e "$R/usr/bin/$w.openmpi" ] || die "usr/bin/$w.openmpi missing from openmpi-bin/libopenmpi-dev"
  ln -s "$w.openmpi" "$R/usr/bin/$w"
done
for h in cblas.h openblas_config.h f77blas.h; do
  ln -s "openblas-pthread/$h" "$R/usr/include/x86_64-linux-gnu/$h"
done
ln -s openblas-pthread/libopenblas.so "$KL/libopenblas.so"
ln -s openblas-pthread/libopenblas.so.0 "$KL/libopenblas.so.0"
psm=$(cd "$R/usr/lib/libpsm1" && ls libpsm_infinipath.so.1.*)
ln -s "../libpsm1/$psm" "$KL/libpsm_infinipath.so.1"

say "relocatable OpenBLASConfig.cmake"
ob=$KL/openblas-pthread/cmake/openblas/OpenBLASConfig.cmake
obv=$(sed -n 's/^SET(OpenBLAS_VERSION "\(.*\)")$/\1/p' "$ob")
[ -n "$obv" ] || die "unexpected $ob (no OpenBLAS_VERSION)"
cat >"$ob" <<EOF
# Rewritten for the relocatable GPU kit (Debian's original had absolute /usr paths).
SET(OpenBLAS_VERSION "$obv")
get_filename_component(_kit_openblas_usr "\${CMAKE_CURRENT_LIST_DIR}/../../../../.." ABSOLUTE)
SET(OpenBLAS_INCLUDE_DIRS \${_kit_openblas_usr}/include/x86_64-linux-gnu/openblas-pthread/)
SET(OpenBLAS_LIBRARIES \${_kit_openblas_usr}/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so)
EOF
# (The .pc files stay as Debian ships them: run-on-device.sh rewrites copies of them on the device.)

say "fallback libraries"
copy_libs() {  # the shared libraries (file + soname link) of .deb $1 into folder $2
  rm -rf "$TMPX"; mkdir -p "$TMPX"
  dpkg -x "$1" "$TMPX"
  local n=0 f
  for f in "$TMPX"/usr/lib/x86_64-linux-gnu/*.so.* "$TMPX"/lib/x86_64-linux-gnu/*.so.*; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    cp -a "$f" "$2/"; n=$((n + 1))
  done
  [ $n -gt 0 ] || die "no shared library in ${1##*/}"
}
mkdir -p "$R/fallback/x86_64-linux-gnu" "$R/fallback/glibc-pre-2.36"
for e in "${FALLBACK_PKGS[@]}"; do copy_libs "${DEB[${e%%=*}]}" "$R/fallback/x86_64-linux-gnu"; done
if [ -n "$HAVE_DEB11" ]; then
  for e in "${DEB11_FILES[@]}"; do copy_libs "$DEBS_DIR/${e%% *}" "$R/fallback/glibc-pre-2.36"; done
fi
rm -rf "$TMPX"

if [ "$NCCL_HEADER" = skip ]; then
  say "WARNING: NCCL_HEADER=skip: no nccl/include/nccl.h in the kit"
else
  [ -f "$NCCL_HEADER" ] ||
    die "nccl.h not found at $NCCL_HEADER (set NCCL_HEADER=/path/to/nccl.h, or NCCL_HEADER=skip)"
  mkdir -p "$STAGE/nccl/include"
  cp "$NCCL_HEADER" "$STAGE/nccl/include/nccl.h"
  chmod 644 "$STAGE/nccl/include/nccl.h"
  nv=$(awk '/#define NCCL_MAJOR/{a=$3}/#define NCCL_MINOR/{b=$3}/#define NCCL_PATCH/{c=$3}END{print a"."b"."c}' "$NCCL_HEADER")
  say "nccl.h $nv from $NCCL_HEADER"
fi

install -m 755 "$SCRIPT_DIR/run-on-device.sh" "$STAGE/run-on-device.sh"

# README.txt of the kit; @MIB@ becomes the kit's size.
cat >"$STAGE/README.txt" <<'EOF'
GPU build kit for scripts/gpu-check (git-ignored: build-*/)
================================================================

Purpose: build and run scripts/gpu-check (dmlsim-gpu-check + the end-to-end `mpirun -np 1
dmlsim-rank --gpu`) on a GPU machine with CUDA 13, cmake, ninja, a C++ compiler and PyTorch, but
no Debian -dev packages, no Open MPI, no network.

Run on the device, from the repository root:
    bash build-gpu-kit/run-on-device.sh
Carry: build-gpu-kit   (@MIB@ MiB; the working tree adds ~1.5 MiB; travel limit 64 MiB)
Time: the script gives itself 460 s (KIT_TIME_LIMIT); give the device call timeout_s >= 540.
Exit: 0 ok; 1 setup/configure failed; 2 gpu-check failed; 3 gpu-check ok but end-to-end skipped;
124 timed out. Console also in $OUT/run-on-device.log; logs of a failure in $OUT/kit-logs/.

Layout
  root/usr/...                Debian 12 packages unpacked with dpkg -x (trimmed, see below)
  root/etc/openmpi            Open MPI's mca-params (excludes ucx/ofi/openib), found via OPAL_SYSCONFDIR
  root/fallback/x86_64-linux-gnu   libz, libudev, libnuma, libatomic, libuuid, libgfortran,
                              libquadmath: put on LD_LIBRARY_PATH only for those the machine lacks
  root/fallback/glibc-pre-2.36     Debian 11's libevent 2.1.12 (the Debian 12 build needs
                              GLIBC_2.36; everything else needs <= 2.34): used only if glibc < 2.36
  root/tools/bin/pkg-config   pkgconf 1.8.1, used only if the machine has no working pkg-config
  nccl/include/nccl.h         NCCL 2.28.9 header (copied from /usr/local/cuda/include here),
                              used only when the NCCL library found has no nccl.h of its own
  run-on-device.sh            the script
The .deb files are in ../build-gpu-kit-debs/ (kept outside so that carrying build-gpu-kit fits).

Packages (Debian 12 bookworm, amd64)
  build: libyaml-cpp-dev libyaml-cpp0.7 (0.7.0) libfmt-dev libfmt9 (9.1.0) nlohmann-json3-dev (3.11.2)
         libcli11-dev (2.1.2) libopenmpi-dev (headers, wrapper data) libopenblas-pthread-dev (cblas.h)
  Open MPI 4.1.4 runtime: libopenmpi3 openmpi-bin openmpi-common libpmix2 (4.2.2) libhwloc15
         libevent-core-2.1-7 libevent-pthreads-2.1-7 libfabric1 libucx0 libibverbs1
         ibverbs-providers librdmacm1 libnl-3-200 libnl-route-3-200 libmunge2 libltdl7 libpsm2-2
         libpsm-infinipath1
  BLAS:  libopenblas0-pthread (0.3.21; realrun calls openblas_set_num_threads, so reference BLAS
         will not link)
  fallbacks: zlib1g libudev1 libnuma1 libatomic1 libuuid1 libgfortran5 libquadmath0
         + Debian 11 libevent-core-2.1-7 / libevent-pthreads-2.1-7 2.1.12-stable-1 (pool download)
  tools: pkgconf-bin libpkgconf3
Trimmed away: docs, man pages, lintian, all static .a, liblapack.so.3 and openblas' libblas.so.3,
Fortran modules and Fortran/Java/OpenSHMEM libraries, wrappers and components of Open MPI, Open MPI's
internal developer headers (opal/orte/oshmem). Symlinks added where Debian uses alternatives
(mpirun, mpicc, mpicxx, mpiexec; cblas.h, openblas_config.h, f77blas.h; libopenblas.so[.0]).
OpenBLASConfig.cmake rewritten to be relocatable (the project does not use it).

How the script points the build at the kit
  PATH (kit usr/bin first), LD_LIBRARY_PATH, OPAL_PREFIX/OPAL_SYSCONFDIR (Open MPI relocation),
  PMIX_PREFIX/PMIX_PKG*DIR/PMIX_MCA_mca_base_component_path (PMIx relocation), OMPI_MCA_pml=ob1,
  OMPI_MCA_btl=self,vader,tcp, OMPI_MCA_plm=isolated when there is no ssh/rsh,
  CMAKE_PREFIX_PATH/CMAKE_LIBRARY_PATH/CMAKE_INCLUDE_PATH, PKG_CONFIG_PATH (copies of the .pc files
  with their prefix rewritten), and a first configure of build/gpu-check with explicit
  -Dyaml-cpp_DIR -Dfmt_DIR -Dnlohmann_json_DIR -DCLI11_DIR -DMPI_C_COMPILER -DBLA_VENDOR=OpenBLAS
  -DCBLAS_INCLUDE_DIR -DNCCL_INCLUDE_DIR -DNCCL_LIBRARY (a libnccl.so symlink in build/kit-run/nccl/lib
  to the libnccl.so.2 it found: /usr/local/cuda first, then python3's nvidia/nccl wheel, then find /),
  which gpu-check's own configure of the same folder keeps from the cache. The environment is saved
  in build/kit-run/env.sh for manual reruns.
EOF
bytes=$(du -sb "$STAGE" | awk '{print $1}')
sed -i "s/@MIB@/$(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1048576}')/" "$STAGE/README.txt"

# ----------------------------------------------------------------------------------------------
bytes=$(du -sb "$STAGE" | awk '{print $1}')
mib=$(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1048576}')
files=$(find "$STAGE" ! -type d | wc -l)
if [ "$bytes" -gt $((MAX_MIB * 1048576)) ]; then
  die "the kit is $mib MiB ($bytes bytes, du -sb), over the $MAX_MIB MiB limit: it would not travel with the working tree; trim more (largest: $(find "$STAGE" -type f -size +1M -printf '%s %P\n' | sort -rn | head -3 | awk '{printf "%s %.1fM; ", $2, $1/1048576}'))"
fi
rm -rf "$KIT_DIR"
mv "$STAGE" "$KIT_DIR"
trap - EXIT
say "done: $KIT_DIR is $mib MiB ($bytes bytes, $files files and links; limit $MAX_MIB MiB)"
