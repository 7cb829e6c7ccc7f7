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

run "run --invoke: '--' before the values ends options" run --invoke add add.wasm -- 1 -3
want_status 0
want_out "-2"
done_case

run "help --help shows the help" help --help
want_status 0
want_out_has 'usage: waft COMMAND'
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

# ==== The option table: every command parses the same way ====

# --name=VALUE is the same as --name VALUE, for options of several commands.
run "run: --name=VALUE for every value of a run" \
    run --fuel=1000 --max-call-depth=50 --max-stack-slots=4000 --dir=. --env=A=B --invoke=add \
    add.wasm 1 2
want_status 0
want_out 3
done_case

run "run: --checkpoint-at-step=N --image=FILE write an image" \
    run --image=spin.img --checkpoint-at-step=500 --compress --invoke=spin spin.wasm
want_status 0
[[ -s spin.img ]] || problems+=("no image spin.img")
done_case

run "image check --module=M" image check spin.img --module=spin.wasm
want_status 0
done_case

run "image info FILE --json" image info spin.img --json
want_status 0
want_out_has '^\{'
done_case

run "restore: --fuel=N --max-call-depth=N" restore spin.img --fuel=300 --max-call-depth=50
want_status 134
want_err '^waft: trap: all fuel consumed$'
done_case

run "restore: --module=M is read" restore spin.img --module=missing.wasm
want_status 1
want_err '^waft: missing\.wasm: cannot open'
done_case

run "checkpoint: --image=FILE --timeout=S (then no such run)" \
    checkpoint 2147483646 --image=x.img --timeout=1 --leave-running
want_status 1
want_err 'not a waft run'
done_case

run "migrate: --to=A --strategy=... (then no such run)" \
    migrate 2147483646 --to=127.0.0.1:9 --strategy=stop-and-copy --max-downtime=3 \
    --max-rounds=2 --page-order=address --timeout=1
want_status 1
want_err 'not a waft run'
done_case

run "serve: --listen=HOST:PORT is checked" serve --listen=127.0.0.1:notaport
want_status 2
want_err_lines 1
want_err "^waft: serve: --listen needs HOST:PORT, not '127\.0\.0\.1:notaport'"
done_case

desc="serve: --name=VALUE for every value of serve"
problems=()
mkdir -p logs cache
timeout 2 "$waft" serve --listen=127.0.0.1:0 --timeout=5 --max-programs=2 --log-dir=logs \
    --module-cache=cache --dir=. </dev/null >out.txt 2>err.txt
status=$?
want_status 124 # it served until timeout stopped it
want_err 'listen'
done_case

# One line naming the option, and status 2: a missing value, a bad number, a bad choice, an
# unknown option, a value given to a flag.
usage_case()
{
    local desc_=$1 pattern=$2
    shift 2
    run "$desc_" "$@"
    want_status 2
    want_err_lines 1
    want_err "$pattern"
    done_case
}
usage_case "run: missing value" "^waft: run: --fuel needs a value: a number of instructions \(see 'waft run --help'\)$" run --fuel
usage_case "run: bad number" "^waft: run: --max-call-depth needs a number from 1 to 4294967295, not 'x'" \
    run --max-call-depth=x add.wasm
usage_case "run: number too big" "--max-stack-slots needs a number from 1 to 4294967295, not '4294967296'" \
    run --max-stack-slots 4294967296 add.wasm
usage_case "run: bad choice" "--strategy needs one of precopy\|stop-and-copy, not 'fast'" \
    run --strategy=fast add.wasm
usage_case "run: flag with a value" "^waft: run: --leave-running takes no value" \
    run --leave-running=1 add.wasm
usage_case "restore: missing value" "^waft: restore: --module needs a value" restore x.img --module
usage_case "restore: unknown option" "^waft: restore: unknown option '--bogus' \(see 'waft restore --help'\)$" \
    restore x.img --bogus
usage_case "restore: bad seconds" "^waft: restore: --checkpoint-every needs a number of seconds, not '-1'" \
    restore x.img --checkpoint-every=-1
usage_case "checkpoint: unknown option" "^waft: checkpoint: unknown option '--bogus'" checkpoint 1 --bogus=2
usage_case "checkpoint: missing value" "^waft: checkpoint: --timeout needs a value: seconds" checkpoint 1 --timeout
usage_case "migrate: bad number" "^waft: migrate: --max-rounds needs a number from 1 to 10000, not '0'" \
    migrate 1 --to 127.0.0.1:9 --max-rounds 0
usage_case "migrate: unknown option" "^waft: migrate: unknown option '--migrate-at-step'" \
    migrate 1 --to 127.0.0.1:9 --migrate-at-step 5
usage_case "serve: missing value" "^waft: serve: --listen needs a value: HOST:PORT" serve --listen
usage_case "serve: bad number" "^waft: serve: --max-programs needs a number from 1 to 4096, not '0'" \
    serve --max-programs=0
usage_case "serve: unknown option" "^waft: serve: unknown option '--bogus'" serve --bogus
usage_case "image: unknown option" "^waft: image: unknown option '--bogus'" image info x.img --bogus
usage_case "image: missing value" "^waft: image: --module needs a value" image check x.img --module

# The help of each command is made from its table: `waft help VERB` and `waft VERB --help`
# print the same, and every option a command accepts is in it, and every option in it is
# accepted. The candidates are every "--name" that appears in the CLI's sources.
src_dir=$here/../../src/cli
mapfile -t candidates < <(cat "$src_dir"/*.c | grep -ohE '"--[a-z][a-z0-9-]*' | tr -d '"' | sort -u)
((${#candidates[@]} > 30)) || problems+=("found only ${#candidates[@]} option names in $src_dir")
for verb in run restore checkpoint migrate serve image; do
    desc="help $verb = $verb --help, generated from the table"
    problems=()
    "$waft" help "$verb" >help1.txt 2>/dev/null || problems+=("waft help $verb failed")
    "$waft" "$verb" --help >help2.txt 2>/dev/null || problems+=("waft $verb --help failed")
    cmp -s help1.txt help2.txt || problems+=("the two differ")
    grep -q "^usage: waft $verb " help1.txt || problems+=("no usage line")
    grep -q -- '^  -h, --help ' help1.txt || problems+=("no -h, --help line")
    : >out.txt
    : >err.txt
    done_case

    desc="$verb: every option it accepts is in its help, and every one in its help is accepted"
    problems=()
    nopts=0
    for name in "${candidates[@]}"; do
        [[ $name == --help ]] && continue # -h and --help take no value: tested above
        # NAME=x, then an unknown option: the parser stops at one or the other, never runs
        "$waft" "$verb" "$name=x" --zz-unknown </dev/null >/dev/null 2>err.txt
        if grep -q "unknown option '$name'" err.txt; then
            grep -qE -- "^  (-h, )?$name( |\$)" help1.txt &&
                problems+=("$name is in the help but not accepted")
        else
            nopts=$((nopts + 1))
            grep -qE -- "^  (-h, )?$name( |\$)" help1.txt ||
                problems+=("$name is accepted but not in the help")
        fi
    done
    while read -r name; do
        [[ $name == --help ]] && continue
        "$waft" "$verb" "$name=x" --zz-unknown </dev/null >/dev/null 2>err.txt
        grep -q "unknown option '$name'" err.txt && problems+=("$name is in the help but not accepted")
    done < <(grep -oE -- '^  --[a-z][a-z0-9-]*' help1.txt | tr -d ' ')
    ((nopts >= 2)) || problems+=("only $nopts options found")
    : >out.txt
    : >err.txt
    done_case
done

echo "cli: $passed passed, $failed failed"
((failed == 0))
