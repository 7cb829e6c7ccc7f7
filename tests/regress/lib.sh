# SPDX-License-Identifier: MIT
# lib.sh - helpers for the regression cases (sourced by run.sh; see there).

# fail MESSAGE: the case fails with MESSAGE.
fail()
{
    echo "$*" >&2
    exit 1
}

# wat FILE.wat [OUT.wasm]: compiles a module kept beside the case (or in the current
# directory) with wat2wasm; OUT defaults to FILE's base name with .wasm.
wat()
{
    local src=$1 out=${2:-$(basename "${1%.wat}").wasm}
    [[ -f $src ]] || src=$here/$1
    wat2wasm --enable-all "$src" -o "$out" || fail "wat2wasm $1 failed"
}

# expect_status WANT CMD...: runs CMD (output to out.txt and err.txt) and fails unless it
# exits with WANT.
expect_status()
{
    local want=$1 got
    shift
    "$@" >out.txt 2>err.txt
    got=$?
    if [[ $got != "$want" ]]; then
        echo "command: $*" >&2
        echo "exit status $got, expected $want; stderr:" >&2
        sed 's/^/  /' err.txt >&2
        exit 1
    fi
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s until it succeeds, or fails the case.
wait_until()
{
    local n=$(($1 * 10))
    shift
    while ! "$@"; do
        ((n-- > 0)) || fail "timed out waiting for: $*"
        sleep 0.1
    done
}
