#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh - regression cases: one file per fixed defect, tests/regress/ISSUE-NN-what.sh.
#
#   usage: bash tests/regress/run.sh path/to/waft [PATTERN...]
#
# Each case is a bash script run in a fresh empty directory with these variables set:
#   waft   absolute path of the waft command under test
#   here   absolute path of tests/regress (case files may keep .wat files beside them)
# and these helpers (from lib.sh): wat NAME.wat [OUT.wasm] compiles a module with wat2wasm,
# fail MESSAGE prints why and exits 1, expect_status WANT CMD... runs CMD and fails unless
# its exit status is WANT, wait_until SECONDS CMD... polls CMD until it succeeds. A case
# passes iff it exits 0. With PATTERNs, only the cases whose file name contains one of
# them run. The last line is "regress: N passed, N failed".
set -u

if [[ $# -lt 1 || ! -x $1 ]]; then
    echo "usage: $0 path/to/waft [PATTERN...]" >&2
    exit 2
fi
waft=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export waft here

passed=0
failed=0
for case_file in "$here"/[0-9]*.sh; do
    name=$(basename "$case_file" .sh)
    if [[ $# -gt 0 ]]; then
        match=0
        for p in "$@"; do
            [[ $name == *"$p"* ]] && match=1
        done
        ((match)) || continue
    fi
    dir=$(mktemp -d)
    # A case gets 120 s; a hang is a failure, not a stuck CI run.
    if (cd "$dir" && timeout -k 5 120 bash -c 'source "$here/lib.sh"; source "$1"' _ \
        "$case_file") >"$dir.log" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        sed 's/^/    /' "$dir.log" | tail -20
    fi
    rm -rf "$dir" "$dir.log"
done
echo "regress: $passed passed, $failed failed"
((failed == 0))
