# SPDX-License-Identifier: MIT
# programs.sh - sourced by the checkpoint and migration harnesses (tests/ckpt/run.sh,
# tests/migrate/run.sh): how they build WASI test programs and set up their directories.
# Expects $root (the repository) and $out (where modules go) to be set.

WASM_CC=(clang --target=wasm32-wasi -O2 -ffp-contract=off -nostdlibinc
    -isystem /usr/include/wasm32-wasi -Wl,--strip-debug)
# build NAME SOURCE [FLAGS...]: $out/NAME.wasm from SOURCE, unless it is up to date.
build()
{
    local name=$1 src=$2
    shift 2
    if [[ ! -f $out/$name.wasm || $src -nt $out/$name.wasm ]]; then
        "${WASM_CC[@]}" -I "$root/tests/wasi" -o "$out/$name.wasm" "$src" "$@" || return 1
    fi
}

# setup_NAME DIR: the files a program expects in its directory before it runs.
setup_none() { :; }
setup_ckprog()
{
    mkdir -p "$1/in/dir" "$1/out"
    awk 'BEGIN { for (i = 0; i < 400; i++) printf "data %d %x\n", i, i * 40503 }' >"$1/in/data.txt"
    for i in $(seq 1 50); do : >"$1/in/dir/file-$i"; done
    printf 'appended before the run\n' >"$1/out/app.txt"
}
setup_tree()
{
    mkdir -p "$1/in/src/lib" "$1/in/empty"
    printf 'hello\n' >"$1/in/src/main.c"
    seq 1 3000 >"$1/in/src/lib/numbers.txt"
    ln -s src/main.c "$1/in/link-to-main"
}
