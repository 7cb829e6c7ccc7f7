#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh - WASI preview1 tests: builds the C programs of tests/wasi/ for wasm32-wasi (and
# natively with gcc where the outcome is comparable), runs each under `waft run` in a fresh
# temporary directory, and checks its results: its own checks, byte-identical stdout,
# stderr, exit status and written files against the native build, sandbox escapes that
# must fail (listed), symlinks swapped during calls, sockets, and interrupts of blocking
# calls (a host program linked with libwaft).
#
#   usage: bash tests/wasi/run.sh path/to/waft
#
# Builds into <dir of waft>/tests/wasi/ (build/tests/wasi/ for build/waft). The libwaft.a
# next to the waft binary is used for the host program (with sanitizers if it has them).
# The last line is "wasi: N passed, N failed"; the exit status is 1 if any case failed.
set -u

if [[ $# -ne 1 || ! -x $1 ]]; then
    echo "usage: $0 path/to/waft (an executable)" >&2
    exit 2
fi
waft=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$(dirname "$waft")/tests/wasi
lib=$(dirname "$waft")/libwaft.a
mkdir -p "$out"

tmp=$(mktemp -d)
swapper=
cleanup()
{
    [[ -n $swapper ]] && kill "$swapper" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

passed=0
failed=0

pass()
{
    passed=$((passed + 1))
    echo "ok   $1"
}

# fail DESCRIPTION PROBLEM...
fail()
{
    local what=$1
    shift
    failed=$((failed + 1))
    echo "FAIL $what"
    printf '       %s\n' "$@"
}

# ==== Building ====

WASM_CC=(clang --target=wasm32-wasi -O2 -nostdlibinc -isystem /usr/include/wasm32-wasi
    -Wl,--strip-debug)
NATIVE_CC=(gcc -O2 -std=c11 -Wall)

for tool in clang wasm-ld gcc; do
    if ! command -v "$tool" >/dev/null; then
        fail "toolchain" "'$tool' not found (bash tools/install-deps.sh installs it)"
        echo "wasi: $passed passed, $failed failed"
        exit 1
    fi
done
if [[ ! -f /usr/include/wasm32-wasi/stdio.h ]]; then
    fail "toolchain" "wasi-libc is not installed (bash tools/install-deps.sh installs it)"
    echo "wasi: $passed passed, $failed failed"
    exit 1
fi

# newer TARGET SOURCE...: whether TARGET is missing or older than a source.
stale()
{
    local target=$1 s
    shift
    [[ -e $target ]] || return 0
    for s in "$@"; do
        [[ $s -nt $target ]] && return 0
    done
    return 1
}

# build NAME [native] [EXTRA_FLAGS...]: NAME.wasm (and NAME.native) from NAME.c.
build_errors=()
build()
{
    local name=$1 native=${2:-} src=$here/$1.c
    if stale "$out/$name.wasm" "$src" "$here/common.h"; then
        "${WASM_CC[@]}" -o "$out/$name.wasm" "$src" 2>"$out/$name.log" ||
            build_errors+=("$name.wasm: $(head -3 "$out/$name.log")")
    fi
    if [[ $native == native ]] && stale "$out/$name.native" "$src" "$here/common.h"; then
        "${NATIVE_CC[@]}" -o "$out/$name.native" "$src" 2>"$out/$name.log" ||
            build_errors+=("$name.native: $(head -3 "$out/$name.log")")
    fi
}

echo "wasi: building test programs into $out"
for t in files readdir clocks stdio poll fdops exitcode tree; do
    build "$t" native
done
for t in sandbox race sockets blocking; do
    build "$t"
done
for v in NAME TYPE; do
    if stale "$out/bad_$v.wasm" "$here/badimport.c"; then
        "${WASM_CC[@]}" -nostartfiles -DBAD_$v -o "$out/bad_$v.wasm" "$here/badimport.c" \
            2>"$out/bad_$v.log" || build_errors+=("bad_$v.wasm: $(head -3 "$out/bad_$v.log")")
    fi
done
# the host program links the same library as the waft under test, sanitizers included
host_flags=()
if nm "$lib" 2>/dev/null | grep -q __asan_; then
    host_flags+=(-fsanitize=address)
fi
if nm "$lib" 2>/dev/null | grep -q __ubsan_; then
    host_flags+=(-fsanitize=undefined)
fi
if stale "$out/host_interrupt" "$here/host_interrupt.c" "$lib" "$root/src/wasi/wasi.h"; then
    ${CC:-cc} -std=c11 -D_DEFAULT_SOURCE -O1 -g -Wall -Wextra "${host_flags[@]}" \
        -I"$root/include" -I"$root/src" -o "$out/host_interrupt" "$here/host_interrupt.c" \
        "$lib" -lm -pthread $(nm "$lib" 2>/dev/null | grep -q ' U ZSTD_' && echo -lzstd) \
        2>"$out/host_interrupt.log" ||
        build_errors+=("host_interrupt: $(head -3 "$out/host_interrupt.log")")
fi
if stale "$out/snapfields" "$here/snapfields.c" "$lib" "$root/src/wasi/wasi.h"; then
    ${CC:-cc} -std=c11 -D_DEFAULT_SOURCE -O1 -g -Wall -Wextra "${host_flags[@]}" \
        -I"$root/include" -I"$root/src" -o "$out/snapfields" "$here/snapfields.c" \
        "$lib" -lm -pthread $(nm "$lib" 2>/dev/null | grep -q ' U ZSTD_' && echo -lzstd) \
        2>"$out/snapfields.log" ||
        build_errors+=("snapfields: $(head -3 "$out/snapfields.log")")
fi
if ((${#build_errors[@]} > 0)); then
    fail "building the test programs" "${build_errors[@]}"
fi

# ==== Running ====

# fresh: a new empty directory under $tmp, printed (called in $(...): no shell state).
fresh()
{
    mktemp -d "$tmp/run.XXXXXX"
}

# in_dir DIR INPUT CMD...: runs CMD in DIR with stdin from INPUT, a file or "|SHELL
# COMMAND" whose output is piped in; writes DIR.out, DIR.err, DIR.status.
in_dir()
{
    local dir=$1 input=$2
    shift 2
    if [[ $input == '|'* ]]; then
        bash -c "${input#|}" | (cd "$dir" && "$@") >"$dir.out" 2>"$dir.err"
        echo "${PIPESTATUS[1]}" >"$dir.status"
    else
        (cd "$dir" && "$@") <"$input" >"$dir.out" 2>"$dir.err"
        echo $? >"$dir.status"
    fi
}

# same WASM_DIR NATIVE_DIR: the problems found comparing two runs (none if identical).
same()
{
    local a=$1 b=$2
    cmp -s "$a.status" "$b.status" ||
        echo "exit status $(<"$a.status") under waft, $(<"$b.status") native"
    cmp -s "$a.out" "$b.out" || echo "stdout differs: $(diff "$a.out" "$b.out" | head -5 | tr '\n' ' ')"
    cmp -s "$a.err" "$b.err" || echo "stderr differs: $(diff "$a.err" "$b.err" | head -5 | tr '\n' ' ')"
}

# compare DESC NAME STDIN [ENV...] -- [ARGS...]: runs NAME.wasm under waft (with --dir .
# and the ENV as --env) and NAME.native (with exactly that environment), each in a fresh
# directory, and requires identical results; with WALK=1 waft uses the portable path walk.
compare()
{
    local desc=$1 name=$2 input=$3
    shift 3
    local envs=() wenv=()
    while (($# > 0)) && [[ $1 != -- ]]; do
        envs+=("$1")
        wenv+=(--env "$1")
        shift
    done
    shift
    local a b problems
    a=$(fresh)
    b=$(fresh)
    in_dir "$a" "$input" env ${WALK:+WAFT_WASI_NO_OPENAT2=1} "$waft" run --dir . "${wenv[@]}" \
        "$out/$name.wasm" "$@"
    in_dir "$b" "$input" env -i "${envs[@]}" "$out/$name.native" "$@"
    problems=$(same "$a" "$b")
    if [[ -z $problems && $(<"$a.status") != "${WANT_STATUS:-0}" ]]; then
        problems="exit status $(<"$a.status"), expected ${WANT_STATUS:-0}: $(head -3 "$a.out" "$a.err")"
    fi
    if [[ -z $problems ]]; then
        pass "$desc"
    else
        mapfile -t lines <<<"$problems"
        fail "$desc" "${lines[@]}"
    fi
    last_wasm_dir=$a
    last_native_dir=$b
}

# ---- programs that check themselves, compared with their native build ----

compare "files: create, seek, pread/pwrite, truncate, append, 12 MiB writes, links, times" \
    files /dev/null --
WALK=1 compare "files, with the portable path walk instead of openat2" files /dev/null --
compare "readdir: 700 long names, cookies (seekdir), rewinddir, types" readdir /dev/null --
WALK=1 compare "readdir, with the portable path walk" readdir /dev/null --
compare "clocks: monotonic, resolution, realtime, CPU time, sleep; random bytes" clocks \
    /dev/null --

awk 'BEGIN { for (i = 0; i < 60000; i++) printf "line %d of the input: Some Words %x\n", i, i * 7919 }' \
    >"$tmp/input.txt"
compare "stdin from a pipe (2 MiB in odd pieces), large stdout, stderr" stdio \
    "|cat '$tmp/input.txt'" -- pipe
compare "stdin from a regular file (seekable)" stdio "$tmp/input.txt" -- file

compare "poll: timeout on a silent pipe, a file, data arriving later, hang-up" poll \
    "|sleep 1; echo late" --
compare "fd_renumber, descriptor flags, non-blocking read of an empty pipe" fdops "|sleep 1" --

# ---- exit statuses ----

WANT_STATUS=3 compare "exit(3)" exitcode /dev/null -- exit 3
WANT_STATUS=42 compare "return 42 from main" exitcode /dev/null -- return 42
WANT_STATUS=0 compare "exit(256) is status 0, as natively" exitcode /dev/null -- exit 256
WANT_STATUS=5 compare "exit(5) with 1000 buffered lines still flushed" exitcode /dev/null -- \
    flush 5
# abort(): a trap under waft (status 134 and a message), SIGABRT natively (status 134)
a=$(fresh)
in_dir "$a" /dev/null "$waft" run "$out/exitcode.wasm" abort
b=$(fresh)
in_dir "$b" /dev/null "$out/exitcode.native" abort 2>/dev/null # no "Aborted" from bash
if [[ $(<"$a.status") == 134 && $(<"$b.status") == 134 ]] && grep -q '^waft: trap: ' "$a.err"; then
    pass "abort(): status 134 and 'waft: trap:' like SIGABRT natively"
else
    fail "abort()" "status $(<"$a.status") (native $(<"$b.status")): $(head -2 "$a.err")"
fi

# ---- the done-criterion of issue 3: args, env, stdin, a tree walk, files, an exit code ----

make_tree()
{
    local d=$1
    mkdir -p "$d/in/src/lib" "$d/in/empty" "$d/in/docs"
    printf 'hello\n' >"$d/in/src/main.c"
    seq 1 20000 >"$d/in/src/lib/numbers.txt"
    printf 'no newline at the end' >"$d/in/docs/read me.txt"
    head -c 70000 "$waft" >"$d/in/binary.bin"
    ln -s src/main.c "$d/in/link-to-main"
    : >"$d/in/empty-file"
}
a=$(fresh)
b=$(fresh)
make_tree "$a"
make_tree "$b"
in_dir "$a" "$tmp/input.txt" "$waft" run --dir . --env GREETING=hello --env LANG=C \
    --env "EMPTY=" "$out/tree.wasm" in out 7 "two words" "ünïcödé"
in_dir "$b" "$tmp/input.txt" env -i GREETING=hello LANG=C EMPTY= \
    "$out/tree.native" in out 7 "two words" "ünïcödé"
problems=$(same "$a" "$b")
[[ $(<"$a.status") == 7 ]] || problems+=$'\n'"exit status $(<"$a.status"), expected 7"
diff -r "$a/out" "$b/out" >/dev/null 2>&1 || problems+=$'\n'"written files differ: $(diff -r "$a/out" "$b/out" 2>&1 | head -3 | tr '\n' ' ')"
[[ -s $a/out/report.txt && -f $a/out/copy/src/lib/numbers.txt ]] ||
    problems+=$'\n'"no report or copies written"
if [[ -z ${problems//$'\n'/} ]]; then
    pass "tree: args, env, stdin, directory walk, written files, exit 7: identical to native"
else
    mapfile -t lines <<<"${problems#$'\n'}"
    fail "tree (issue 3 done-criterion)" "${lines[@]}"
fi

# ---- sandbox ----

# sandbox_dir: DIR/outside/secret.txt and DIR/box with links the guest cannot make.
sandbox_dir()
{
    local d
    d=$(fresh)
    mkdir -p "$d/outside" "$d/box"
    echo SECRET >"$d/outside/secret.txt"
    echo inside >"$d/box/file.txt"
    ln -s / "$d/box/root"
    ln -s /etc/passwd "$d/box/pw"
    ln -s /proc/self/root "$d/box/proc"
    echo "$d"
}
# outside_intact DIR: nothing was created, removed or changed outside the box (box.out,
# box.err and box.status are the test's own records).
outside_intact()
{
    [[ $(ls -A "$1/outside") == secret.txt && $(<"$1/outside/secret.txt") == SECRET &&
        $(ls -A "$1" | grep -vxE 'box|box\.(out|err|status)|outside') == "" ]]
}
s1=$(sandbox_dir)
in_dir "$s1/box" /dev/null "$waft" run --dir . "$out/sandbox.wasm"
s2=$(sandbox_dir)
in_dir "$s2/box" /dev/null env WAFT_WASI_NO_OPENAT2=1 "$waft" run --dir . "$out/sandbox.wasm"
n_attempts=$(grep -c '^escape ' "$s1/box.out")
echo "     escape attempts tried (each must be blocked):"
sed -n 's/^escape /       /p' "$s1/box.out"
for pair in "openat2:$s1" "path walk:$s2"; do
    mode=${pair%%:*}
    d=${pair#*:}
    problems=()
    [[ $(<"$d/box.status") == 0 ]] || problems+=("exit status $(<"$d/box.status")")
    grep -q ', 0 escaped, 0 controls failed$' "$d/box.out" ||
        problems+=("$(grep -E 'ESCAPED|^control .*: E|^sandbox:' "$d/box.out" | head -5)")
    outside_intact "$d" || problems+=("the directory outside the box changed: $(ls -A "$d" "$d/outside" | tr '\n' ' ')")
    if ((${#problems[@]} == 0)); then
        pass "sandbox ($mode): $n_attempts escape attempts and wild pointers all refused"
    else
        fail "sandbox ($mode)" "${problems[@]}"
    fi
done
if cmp -s "$s1/box.out" "$s2/box.out"; then
    pass "sandbox: openat2 and the path walk give the same errors"
else
    fail "sandbox: openat2 and the path walk differ" "$(diff "$s1/box.out" "$s2/box.out" | head -4 | tr '\n' ' ')"
fi

# symlinks swapped while the guest resolves paths through them
for mode in openat2 walk; do
    d=$(fresh)
    mkdir -p "$d/outside" "$d/box/real"
    echo SECRET >"$d/outside/secret.txt"
    echo inside >"$d/box/real/secret.txt"
    echo inside >"$d/box/file"
    ln -s real "$d/box/swap"
    cp "$d/box/file" "$d/box/swapfile"
    (
        cd "$d/box" || exit 1
        while :; do
            ln -sfn real .t1 && mv -T .t1 swap
            ln -sfn ../outside .t2 && mv -T .t2 swap
            ln -sfn ../outside/secret.txt .t3 && mv -T .t3 swapfile
            cp file .t4 && mv -T .t4 swapfile
        done
    ) 2>/dev/null &
    swapper=$!
    if [[ $mode == walk ]]; then
        in_dir "$d/box" /dev/null env WAFT_WASI_NO_OPENAT2=1 "$waft" run --dir . \
            "$out/race.wasm" 6000
    else
        in_dir "$d/box" /dev/null "$waft" run --dir . "$out/race.wasm" 6000
    fi
    kill "$swapper" 2>/dev/null
    wait "$swapper" 2>/dev/null
    swapper=
    if [[ $(<"$d/box.status") == 0 ]] && grep -q '^race: 6000 rounds, 0 escaped$' "$d/box.out"; then
        pass "symlinks swapped during calls ($mode): never followed out ($(sed 's/^race: //' "$d/box.err"))"
    else
        fail "symlinks swapped during calls ($mode)" "$(head -3 "$d/box.out" "$d/box.err" | tr '\n' ' ')"
    fi
done

# ---- sockets ----

d=$(fresh)
sock_ok=0
for try in 1 2 3; do
    port=$((20000 + (RANDOM % 20000)))
    (cd "$d" && timeout 30 "$waft" run --tcplisten "127.0.0.1:$port" "$out/sockets.wasm" \
        >"$d.out" 2>"$d.err") &
    server=$!
    reply=
    for _ in $(seq 400); do
        # connect only once the guest has checked its non-blocking accept (it then prints
        # "listening"): an earlier client would make that accept succeed
        grep -q '^listening$' "$d.out" 2>/dev/null || {
            kill -0 "$server" 2>/dev/null || break
            sleep 0.05
            continue
        }
        if { exec 5<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
            printf 'hello waft\n' >&5
            read -r -t 10 reply <&5
            exec 5>&-
            break
        fi
        kill -0 "$server" 2>/dev/null || break
        sleep 0.05
    done
    wait "$server"
    status=$?
    if grep -q 'cannot listen' "$d.err"; then
        continue # the port was taken: another one
    fi
    if [[ $status == 0 && $reply == "HELLO WAFT" ]] && grep -q '^got: hello waft$' "$d.out"; then
        sock_ok=1
    fi
    break
done
if ((sock_ok)); then
    pass "sockets: --tcplisten, non-blocking accept, accept, recv (peek), send, shutdown"
else
    fail "sockets" "status ${status:-?}, reply '${reply:-}'" "$(head -4 "$d.out" "$d.err" | tr '\n' ' ')"
fi

# ---- interrupts of blocking calls, and the state table (host program) ----

d=$(fresh)
echo abcdefgh >"$d/data.txt"
in_dir "$d" /dev/null "$out/host_interrupt" "$out/blocking.wasm"
if [[ $(<"$d.status") == 0 ]] && grep -q '^host_interrupt: [0-9]* checks, 0 failed$' "$d.out"; then
    pass "interrupt while blocked in fd_read and poll_oneoff, resume re-issues the call; table inspected and rebuilt"
else
    fail "host_interrupt" "$(grep -E 'FAIL|checks' "$d.out" "$d.err" | head -6 | tr '\n' ' ')"
fi

# ---- every [snap] field of the state survives an image ----

# snap_fields: STRUCT.FIELD for every field of src/wasi/wasi.h whose comment starts [snap].
snap_fields()
{
    awk '
        /^(typedef )?struct [a-z_]+ \{/ { name = $0; sub(/^(typedef )?struct /, "", name); sub(/ .*/, "", name) }
        /^\}/ { name = "" }
        name != "" && /\/\* \[snap\]/ {
            decl = $0; sub(/\/\*.*/, "", decl); sub(/\[[^]]*\]/, "", decl); sub(/;.*/, "", decl)
            n = split(decl, words, /[ *]+/); print name "." words[n]
        }' "$root/src/wasi/wasi.h" | sort -u
}
d=$(fresh)
in_dir "$d" /dev/null "$out/snapfields"
tagged=$(snap_fields)
unchecked=$(comm -23 <(echo "$tagged") <(sed -n 's/^checked //p' "$d.out" | sort -u))
if [[ $(<"$d.status") == 0 && -n $tagged && -z $unchecked ]] && grep -q ', 0 failed$' "$d.out"; then
    pass "image round trip: all $(wc -l <<<"$tagged") [snap] fields of src/wasi/wasi.h saved and restored"
else
    fail "image round trip of the [snap] fields" \
        ${unchecked:+"tagged [snap] but not checked by snapfields.c: $(echo $unchecked)"} \
        "$(grep -E 'FAIL|checks' "$d.out" "$d.err" | head -6 | tr '\n' ' ')"
fi

# ---- linking ----

d=$(fresh)
in_dir "$d" /dev/null "$waft" run "$out/bad_NAME.wasm"
if [[ $(<"$d.status") == 1 && $(wc -l <"$d.err") == 1 ]] &&
    grep -q 'link error: import "wasi_snapshot_preview1"."no_such_function": not a preview1 function' "$d.err"; then
    pass "an unknown preview1 name is a link error (one line, status 1)"
else
    fail "unknown preview1 name" "status $(<"$d.status"): $(head -2 "$d.err")"
fi
in_dir "$d" /dev/null "$waft" run "$out/bad_TYPE.wasm"
if [[ $(<"$d.status") == 1 ]] && grep -q '"fd_write": type (i32) -> i64, preview1 has (i32 i32 i32 i32) -> i32' "$d.err"; then
    pass "a preview1 import with the wrong type is a link error"
else
    fail "wrong import type" "status $(<"$d.status"): $(head -2 "$d.err")"
fi
in_dir "$d" /dev/null "$waft" run --dir "$d/does-not-exist" "$out/exitcode.wasm"
if [[ $(<"$d.status") == 1 && $(wc -l <"$d.err") == 1 ]] && grep -q 'does-not-exist' "$d.err"; then
    pass "--dir of a missing directory: one line, status 1"
else
    fail "--dir of a missing directory" "status $(<"$d.status"): $(head -2 "$d.err")"
fi

echo "wasi: $passed passed, $failed failed"
((failed == 0))
