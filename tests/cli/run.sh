#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh - tests of the `waft` command line: options, messages, results, traps, exit status.
#
#   usage: bash tests/cli/run.sh path/to/waft
#
# The test modules are hand-assembled bytes (tests/cli/modules.sh), so nothing beyond bash
# and coreutils is needed. Each case runs waft once and checks its exit status, stdout and
# stderr; the last line is "cli: N passed, N failed" and the exit status is 1 if any failed.
set -u

if [[ $# -ne 1 || ! -x $1 ]]; then
    echo "usage: $0 path/to/waft (an executable)" >&2
    exit 2
fi
waft=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=modules.sh
source "$here/modules.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 2

for m in add math trap recurse recurse_locals spin start start_trap import mem invalid truncated; do
    v=MOD_$m
    write_module "${!v}" "$m.wasm"
done
printf 'hello, world\n' >notwasm.wasm
: >empty.wasm

passed=0
failed=0
desc=''
status=0
problems=()

# ==== Helpers ====

# run DESCRIPTION ARGS...: runs waft ARGS (stdin from $stdin_file, else /dev/null).
stdin_file=/dev/null
run()
{
    desc=$1
    shift
    problems=()
    "$waft" "$@" <"$stdin_file" >out.txt 2>err.txt
    status=$?
    stdin_file=/dev/null
}

want_status()
{
    [[ $status == "$1" ]] || problems+=("exit status $status, expected $1")
}

# want_out TEXT: stdout is exactly TEXT (trailing newlines aside).
want_out()
{
    local got
    got=$(<out.txt)
    [[ $got == "$1" ]] || problems+=("stdout is $(printf %q "$got"), expected $(printf %q "$1")")
}

# want_err REGEX / want_out_has REGEX: some line matches (grep -E).
want_err()
{
    grep -qE -- "$1" err.txt || problems+=("no stderr line matches /$1/")
}
want_out_has()
{
    grep -qE -- "$1" out.txt || problems+=("no stdout line matches /$1/")
}

want_err_lines()
{
    local n
    n=$(wc -l <err.txt)
    ((n == $1)) || problems+=("stderr has $n lines, expected $1")
}

want_err_lines_at_most()
{
    local n
    n=$(wc -l <err.txt)
    ((n <= $1)) || problems+=("stderr has $n lines, expected at most $1")
}

# done_case: counts the case run last and shows what went wrong.
done_case()
{
    if ((${#problems[@]} == 0)); then
        passed=$((passed + 1))
        echo "ok   $desc"
        return
    fi
    failed=$((failed + 1))
    echo "FAIL $desc"
    printf '       %s\n' "${problems[@]}"
    sed -n '1,8s/^/       stdout: /p' out.txt
    sed -n '1,8s/^/       stderr: /p' err.txt
}

# ==== Global options ====

run "--help" --help
want_status 0
want_out_has '^usage: waft'
want_out_has '134'
done_case

run "help" help
want_status 0
want_out_has '^usage: waft'
done_case

run "help run" help run
want_status 0
want_out_has '--invoke'
done_case

run "--version" --version
want_status 0
want_out "waft 0.1.0"
done_case

run "version" version
want_status 0
want_out "waft 0.1.0"
done_case

run "no command is a usage error"
want_status 2
want_err_lines 1
want_err '--help'
done_case

run "unknown global flag exits 2" --bogus
want_status 2
want_err_lines 1
want_err '--help'
done_case

run "unknown command exits 2" frobnicate
want_status 2
want_err_lines 1
done_case

# ==== run: options ====

run "run --help" run --help
want_status 0
want_out_has '^usage: waft run'
want_out_has '--fuel'
want_out_has '--max-call-depth'
want_out_has '134'
done_case

run "run: unknown flag exits 2" run --bogus add.wasm
want_status 2
want_err_lines 1
want_err "unknown option '--bogus'.*--help"
done_case

run "run: missing module exits 2" run --invoke add
want_status 2
want_err_lines 1
done_case

run "run: --fuel needs a number" run --fuel lots --invoke add add.wasm 1 2
want_status 2
want_err_lines 1
done_case

run "run: --max-stack-slots 0 is rejected" run --max-stack-slots 0 --invoke add add.wasm 1 2
want_status 2
done_case

# ==== run: files and modules that fail ====

run "missing file: one line, exit 1" run missing.wasm
want_status 1
want_err_lines 1
want_err '^waft: missing\.wasm: cannot open: '
done_case

run "not a wasm file: exit 1 with an offset" run notwasm.wasm
want_status 1
want_err_lines 1
want_err '^waft: notwasm\.wasm: malformed module.*\(at byte offset [0-9]+'
done_case

run "empty file: exit 1" run empty.wasm
want_status 1
want_err_lines 1
want_err '^waft: empty\.wasm: malformed module'
done_case

run "truncated section: exit 1 with an offset" run truncated.wasm
want_status 1
want_err_lines 1
want_err '^waft: truncated\.wasm: malformed module.*\(at byte offset (8|9|10|11)\b'
done_case

run "module that does not validate: exit 1" run --invoke f invalid.wasm
want_status 1
want_err_lines 1
want_err '^waft: invalid\.wasm: invalid module.*at byte offset [0-9]+'
done_case

run "unsatisfied import: exit 1" run --invoke g import.wasm
want_status 1
want_err_lines 1
want_err '^waft: import\.wasm: import "env" "f" cannot be satisfied \(.*\)$'
done_case

run "no _start and no --invoke: exit 1" run add.wasm
want_status 1
want_err_lines 1
want_err '_start'
done_case

run "--invoke of a missing export: exit 1" run --invoke nope add.wasm
want_status 1
want_err_lines 1
want_err 'no exported function "nope"'
done_case

run "--invoke of a memory: exit 1" run --invoke memory mem.wasm
want_status 1
want_err 'is a memory, not a function'
done_case

# ==== run: calls ====

run "add 2 3" run --invoke add add.wasm 2 3
want_status 0
want_out 5
want_err_lines 0
done_case

run "add wraps and reads hex/unsigned" run --invoke add add.wasm 0xffffffff -1
want_status 0
want_out -2
done_case

run "add 2147483647 1 prints signed" run --invoke=add add.wasm 2147483647 1
want_status 0
want_out -2147483648
done_case

run "-- ends the options" run --invoke add -- add.wasm -5 -6
want_status 0
want_out -11
done_case

stdin_file=add.wasm
run "module from standard input" run --invoke add - 40 2
want_status 0
want_out 42
done_case

run "wrong number of arguments exits 2" run --invoke add add.wasm 1
want_status 2
want_err_lines 1
want_err 'takes 2 arguments \(i32 i32\), 1 given'
done_case

run "argument that is not a number exits 2" run --invoke add add.wasm 1 two
want_status 2
want_err_lines 1
want_err '"two" is not a valid i32'
done_case

run "i32 argument out of range exits 2" run --invoke echo32 math.wasm 4294967296
want_status 2
done_case

run "i64 add" run --invoke add64 math.wasm 9223372036854775807 1
want_status 0
want_out -9223372036854775808
done_case

run "f64 mul" run --invoke mul math.wasm 1.5 -2
want_status 0
want_out -3
done_case

run "f32 neg of inf" run --invoke neg32 math.wasm inf
want_status 0
want_out -inf
done_case

run "f32 printed with %.9g" run --invoke neg32 math.wasm 0.1
want_status 0
want_out -0.100000001
done_case

run "multiple results, one per line" run --invoke consts math.wasm
want_status 0
want_out $'-1\n1099511627776\n1.5\n0.10000000000000001'
done_case

run "null reference result" run --invoke null_ref math.wasm
want_status 0
want_out null
done_case

run "memory, global and call_indirect" run --invoke indirect mem.wasm
want_status 0
want_out 109
done_case

run "_start runs without --invoke" run start.wasm
want_status 0
want_out ''
want_err_lines 0
done_case

run "fuel that suffices changes nothing" run --fuel 1000 --invoke add add.wasm 1 2
want_status 0
want_out 3
done_case

# ==== run: traps ====

run "unreachable: exit 134 with a named backtrace" run --invoke boom trap.wasm
want_status 134
want_out ''
want_err '^waft: trap: unreachable'
want_err '^  #0 func\[1\] inner at offset 0x27$'
want_err '^  #1 func\[0\] boom at offset 0x22$'
want_err_lines 3
done_case

run "integer divide by zero" run --invoke div math.wasm 1 0
want_status 134
want_err '^waft: trap: integer divide by zero$'
want_err '^  #0 func\[3\] at offset 0x'
done_case

run "infinite recursion: call stack exhausted" run --invoke recurse recurse.wasm
want_status 134
want_err '^waft: trap: call stack exhausted$'
want_err '^  #0 func\[0\] at offset 0x'
want_err 'more frames not shown'
want_err_lines_at_most 22
done_case

run "--max-call-depth bounds recursion" run --max-call-depth 50 --invoke recurse recurse.wasm
want_status 134
want_err '^waft: trap: call stack exhausted$'
done_case

# Each frame of recurse_locals holds 4 slots: 5000 calls fit the default stack, so the fuel
# runs out first, but they do not fit in 4000 slots.
run "recursion within the default stack runs out of fuel" \
    run --fuel 5000 --invoke recurse recurse_locals.wasm
want_status 134
want_err '^waft: trap: all fuel consumed$'
done_case

run "--max-stack-slots bounds recursion" \
    run --fuel 5000 --max-stack-slots 4000 --invoke recurse recurse_locals.wasm
want_status 134
want_err '^waft: trap: call stack exhausted$'
done_case

run "infinite loop with --fuel 1000: fuel trap" run --fuel 1000 --invoke spin spin.wasm
want_status 134
want_err_lines 2
want_err '^waft: trap: all fuel consumed$'
want_err '^  #0 func\[0\] at offset 0x'
done_case

run "trap in the start function: exit 134" run start_trap.wasm
want_status 134
want_err '^waft: trap: unreachable'
done_case

echo "cli: $passed passed, $failed failed"
((failed == 0))
