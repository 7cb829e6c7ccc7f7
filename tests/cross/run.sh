#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh - cross-architecture tests (make check-cross): builds waft with Debian's cross
# compilers for each target into build/cross-ARCH/ and runs under qemu-user
#   - the unit tests, the spec suite (core/) and the spec suite through the counting loop;
#   - the library-level cross-restore matrix (tests/cross/xrestore.c): images written on
#     every host (x86-64 natively and each target) are restored on every other one, and
#     must finish with the writer's outcome (and re-save to the same bytes);
#   - the WASI tests (tests/wasi/run.sh) with the target's waft (CROSS_WASI=0 skips them);
#   - the CLI cross-restore matrix (tests/cross/cli.sh: WASI programs checkpointed with
#     `waft run --checkpoint-at-step` on one host, `waft restore`d on the other), once the
#     native waft has those commands.
# Then one line per target: "cross ARCH: N passed, N failed" (a target's line counts its
# suites, and every matrix pair it reads, or that x86-64 reads from it). The suites' own
# summary lines are shown indented, so that .ci/run, which adds up summary lines, counts
# each case once: in its target's line.
#
#   usage: bash tests/cross/run.sh [ARCH...]     ARCH: aarch64 s390x i386 (default: all)
#
# Needs the packages of `bash tools/install-deps.sh cross`. Exit status 1 if any failed.
set -u

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root" || exit 2
SPEC=${SPEC:-../shared/spec}
JOBS=${JOBS:-2}

declare -A triple=([aarch64]=aarch64-linux-gnu [s390x]=s390x-linux-gnu [i386]=i686-linux-gnu)
# i386: SSE2 arithmetic, not x87 (whose 80-bit registers round twice and change results).
declare -A extra=([i386]="-msse2 -mfpmath=sse")

arches=("$@")
if ((${#arches[@]} == 0)); then
    arches=(aarch64 s390x i386)
fi
for a in "${arches[@]}"; do
    if [[ -z ${triple[$a]:-} ]]; then
        echo "usage: $0 [aarch64|s390x|i386]..." >&2
        exit 2
    fi
done

declare -A npass nfail
for a in "${arches[@]}"; do
    npass[$a]=0
    nfail[$a]=0
done

# Known failures (tests/cross/known-failures.txt): lines "KIND ARCH SUITE DESCRIPTION | WHY";
# KIND is "fails" or "flaky", ARCH may be "*". Failed cases ("FAIL DESCRIPTION...") that a
# line names are reported and not counted. A "fails" case that passes ("ok   DESCRIPTION...")
# counts as failed, so that its line is removed once the bug is fixed.
known=()
while IFS= read -r line; do
    [[ -z $line || $line == '#'* ]] || known+=("$line")
done <tests/cross/known-failures.txt

# known_adjust ARCH SUITE LOG: sets `adjust` to the number of failures of LOG to discount
# (less one for each "fails" line whose cases pass) and reports each.
known_adjust()
{
    local arch=$1 suite=$2 log=$3 k kk ka ks kd n
    adjust=0
    for k in "${known[@]}"; do
        read -r kk ka ks kd <<<"${k%%|*}"
        kd=${kd%"${kd##*[! ]}"} # trailing blanks
        [[ ($ka == '*' || $ka == "$arch") && $ks == "$suite" ]] || continue
        n=$(grep -cF "FAIL $kd" "$log")
        if ((n > 0)); then
            echo "cross $arch: $n known failure(s) (not counted): $suite: $kd:${k#*|}"
            adjust=$((adjust + n))
        elif [[ $kk == fails ]] && grep -qF "ok   $kd" "$log"; then
            echo "cross $arch: $suite: '$kd' passes now: take it off tests/cross/known-failures.txt"
            adjust=$((adjust - 1))
        fi
    done
}

# count ARCH LOG SUITE...: adds the "SUITE: N passed, N failed" lines of LOG to ARCH; a
# suite without its line (crash, build error) counts as one failure.
count()
{
    local arch=$1 log=$2 suite line p f
    shift 2
    for suite in "$@"; do
        line=$(grep -E "^$suite: [0-9]+ passed, [0-9]+ failed" "$log" | tail -1)
        if [[ -z $line ]]; then
            echo "cross $arch: $suite did not report (see $log)"
            nfail[$arch]=$((nfail[$arch] + 1))
            continue
        fi
        p=$(sed -E 's/^[^:]+: ([0-9]+) passed, ([0-9]+) failed.*/\1/' <<<"$line")
        f=$(sed -E 's/^[^:]+: ([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
        known_adjust "$arch" "$suite" "$log"
        npass[$arch]=$((npass[$arch] + p))
        nfail[$arch]=$((nfail[$arch] + f - adjust))
    done
}

# emu ARCH: the command prefix that runs a binary of ARCH here. LD_LIBRARY_PATH keeps the
# dynamic loader on the cross libc: a host with multiarch libraries (e.g. libc6-i386's
# /lib32) would otherwise mix two builds of glibc, and pthread_create hangs.
emu()
{
    local t=${triple[$1]}
    echo "qemu-$1 -L /usr/$t -E LD_LIBRARY_PATH=/usr/$t/lib"
}

# cross_make ARCH TARGET...: make for ARCH in build/cross-ARCH (no zstd: its cross library
# is not packaged; such a build rejects compressed images with a clear error).
cross_make()
{
    local arch=$1 t=${triple[$1]}
    shift
    make --no-print-directory BUILD="build/cross-$arch" CC="$t-gcc" AR="$t-ar" ZSTD=0 CRYPTO=0 \
        CFLAGS="${extra[$arch]:-}" EMU="$(emu "$arch")" SPEC="$SPEC" "$@"
}

start=$SECONDS
mkdir -p build/cross

# ==== The native side ====

echo "==== cross: native build (x86-64 side of the matrix)"
native_ok=1
if ! make --no-print-directory -j"$JOBS" all xrestore >build/cross/native.log 2>&1; then
    echo "cross: the native build failed:"
    tail -20 build/cross/native.log
    native_ok=0
fi

wat=build/cross/wat
images=build/cross/images
rm -rf "$wat" "$images"
mkdir -p "$wat"
for w in tests/cross/wat/*.wat; do
    n=$(basename "$w" .wat)
    wat2wasm "$w" -o "$wat/$n.wasm" || echo "cross: wat2wasm $w failed"
done
modules=("$wat"/*.wasm)
if ((native_ok)); then
    mkdir -p "$images/x86_64"
    build/waft-xrestore save "$images/x86_64" "${modules[@]}" || native_ok=0
fi

# ==== Each target: build, suites, its images ====

declare -A built
for a in "${arches[@]}"; do
    t0=$SECONDS
    log=build/cross-$a/check.log
    mkdir -p "build/cross-$a"
    echo "==== cross $a: build (${triple[$a]}-gcc ${extra[$a]:-})"
    built[$a]=0
    if ! cross_make "$a" -j"$JOBS" lib build/cross-"$a"/waft build/cross-"$a"/waft-unit \
        build/cross-"$a"/waft-spec xrestore >"build/cross-$a/build.log" 2>&1; then
        echo "cross $a: build failed:"
        grep -E "error|Error" "build/cross-$a/build.log" | head -20
        nfail[$a]=$((nfail[$a] + 1))
        continue
    fi
    built[$a]=1
    echo "==== cross $a: unit, spec, spec-counted, diff, stream under $(emu "$a" | cut -d' ' -f1)"
    # diff: generated modules, fast vs counting vs checkpoint/restore loops on this host
    cross_make "$a" -k unit spec spec-counted diff stream-test DIFF_SEEDS=150 >"$log" 2>&1
    grep -E "^(unit|spec|spec-counted|diff|stream): |^FAIL|: assert|CHECK" "$log" | head -30 |
        sed 's/^/  /'
    count "$a" "$log" unit spec spec-counted diff stream
    mkdir -p "$images/$a"
    $(emu "$a") "build/cross-$a/waft-xrestore" save "$images/$a" "${modules[@]}" ||
        nfail[$a]=$((nfail[$a] + 1))
    echo "cross $a: suites took $((SECONDS - t0)) s"
done

# ==== The matrix: every host reads every other host's images ====

echo "==== cross: restore matrix (library level: ${modules[*]##*/})"
hosts=()
((native_ok)) && hosts+=(x86_64)
for a in "${arches[@]}"; do
    ((built[$a])) && hosts+=("$a")
done
for reader in "${hosts[@]}"; do
    for writer in "${hosts[@]}"; do
        [[ $reader == "$writer" || ! -f $images/$writer/mix.manifest ]] && continue
        # counted on the target's line: the reader's, or the writer's when x86-64 reads
        owner=$reader
        [[ $reader == x86_64 ]] && owner=$writer
        log=build/cross/matrix-$writer-to-$reader.log
        if [[ $reader == x86_64 ]]; then
            build/waft-xrestore check "$images/$writer" "${modules[@]}" >"$log" 2>&1
        else
            $(emu "$reader") "build/cross-$reader/waft-xrestore" check "$images/$writer" \
                "${modules[@]}" >"$log" 2>&1
        fi
        echo "-- written on $writer, restored on $reader"
        grep -E '^xrestore: |^FAIL' "$log" | head -6 | sed 's/^/  /'
        count "$owner" "$log" xrestore
    done
done

# ==== WASI tests with each target's waft (optional: slow under emulation) ====

if [[ ${CROSS_WASI:-1} == 1 ]]; then
    for a in "${arches[@]}"; do
        ((built[$a])) || continue
        # tests/wasi/run.sh takes a waft executable and links its host program with the
        # libwaft.a beside it; here that is the native library (the host program is the
        # embedder test, not the guest's), and waft is a wrapper that runs the target's.
        dir=build/cross-$a/wasi-run
        mkdir -p "$dir"
        printf '#!/bin/sh\nexec timeout -k 5 %s %s %s "$@"\n' "${CROSS_TIMEOUT:-90}" \
            "$(emu "$a")" "$root/build/cross-$a/waft" >"$dir/waft"
        chmod +x "$dir/waft"
        ln -sf "$root/build/libwaft.a" "$dir/libwaft.a"
        log=build/cross-$a/wasi.log
        echo "==== cross $a: WASI tests"
        bash tests/wasi/run.sh "$dir/waft" >"$log" 2>&1
        grep -E "^FAIL|^wasi: " "$log" | head -20 | sed 's/^/  /'
        count "$a" "$log" wasi
    done
fi

# ==== CLI matrix: real WASI programs checkpointed and restored across hosts ====

if [[ -f tests/cross/cli.sh ]] && build/waft run --help 2>&1 | grep -q -- --checkpoint-at-step &&
    build/waft --help 2>&1 | grep -q restore; then
    for a in "${arches[@]}"; do
        ((built[$a])) || continue
        log=build/cross-$a/cli-matrix.log
        echo "==== cross $a: CLI restore matrix (x86_64 <-> $a)"
        bash tests/cross/cli.sh "$root/build/waft" "$(emu "$a") $root/build/cross-$a/waft" \
            "build/cross-$a/cli" >"$log" 2>&1
        grep -E "^FAIL|^cli-matrix: " "$log" | head -20 | sed 's/^/  /'
        count "$a" "$log" cli-matrix
    done
else
    echo "==== cross: CLI restore matrix skipped (waft has no run --checkpoint-at-step / restore yet)"
fi

echo
echo "==== cross summary ($((SECONDS - start)) s)"
status=0
for a in "${arches[@]}"; do
    echo "cross $a: ${npass[$a]} passed, ${nfail[$a]} failed"
    ((nfail[$a] == 0)) || status=1
done
((native_ok)) || status=1
exit $status
