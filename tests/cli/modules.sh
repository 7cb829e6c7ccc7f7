# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034  # the MOD_* variables are used by the sourcing script
# modules.sh - tiny hand-assembled WebAssembly modules for the CLI tests and fuzz seeds.
#
# Sourced by tests/cli/run.sh. Each MOD_<name> holds the bytes of one module as hex pairs
# (spaces and newlines are ignored); write_module turns one into a file with printf only, so
# the tests need neither wat2wasm nor xxd. The comment above each module gives its text form.
# Byte offsets quoted in comments count from the start of the module.

# write_module HEX FILE: writes the bytes spelled by HEX to FILE.
write_module()
{
    local hex=${1//[$' \n\t']/} esc='' i
    for ((i = 0; i < ${#hex}; i += 2)); do
        esc+="\\x${hex:i:2}"
    done
    printf '%b' "$esc" >"$2"
}

# (module (func (export "add") (param i32 i32) (result i32)
#   local.get 0 local.get 1 i32.add))
MOD_add='
00 61 73 6d 01 00 00 00
01 07 01 60 02 7f 7f 01 7f
03 02 01 00
07 07 01 03 61 64 64 00 00
0a 09 01 07 00 20 00 20 01 6a 0b'

# (module
#   (func (export "add64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add)
#   (func (export "mul") (param f64 f64) (result f64) local.get 0 local.get 1 f64.mul)
#   (func (export "neg32") (param f32) (result f32) local.get 0 f32.neg)
#   (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
#   (func (export "consts") (result i32 i64 f32 f64)
#     i32.const -1 i64.const 0x10000000000 f32.const 1.5 f64.const 0.1)
#   (func (export "null_ref") (result funcref) ref.null func)
#   (func (export "echo32") (param i32) (result i32) local.get 0))
MOD_math='
00 61 73 6d 01 00 00 00
01 28 07
   60 02 7e 7e 01 7e
   60 02 7c 7c 01 7c
   60 01 7d 01 7d
   60 02 7f 7f 01 7f
   60 00 04 7f 7e 7d 7c
   60 00 01 70
   60 01 7f 01 7f
03 08 07 00 01 02 03 04 05 06
07 3a 07
   05 61 64 64 36 34 00 00
   03 6d 75 6c 00 01
   05 6e 65 67 33 32 00 02
   03 64 69 76 00 03
   06 63 6f 6e 73 74 73 00 04
   08 6e 75 6c 6c 5f 72 65 66 00 05
   06 65 63 68 6f 33 32 00 06
0a 43 07
   07 00 20 00 20 01 7c 0b
   07 00 20 00 20 01 a2 0b
   05 00 20 00 8c 0b
   07 00 20 00 20 01 6d 0b
   19 00 41 7f 42 80 80 80 80 80 20 43 00 00 c0 3f 44 9a 99 99 99 99 99 b9 3f 0b
   04 00 d0 70 0b
   04 00 20 00 0b'

# (module
#   (func $boom (export "boom") call $inner)      ;; the call is at offset 0x22
#   (func $inner unreachable))                    ;; the unreachable is at offset 0x27
# with a name section naming both functions.
MOD_trap='
00 61 73 6d 01 00 00 00
01 04 01 60 00 00
03 03 02 00 00
07 08 01 04 62 6f 6f 6d 00 00
0a 0a 02 04 00 10 01 0b 03 00 00 0b
00 15 04 6e 61 6d 65 01 0e 02 00 04 62 6f 6f 6d 01 05 69 6e 6e 65 72'

# (module (func (export "recurse") call 0))
MOD_recurse='
00 61 73 6d 01 00 00 00
01 04 01 60 00 00
03 02 01 00
07 0b 01 07 72 65 63 75 72 73 65 00 00
0a 06 01 04 00 10 00 0b'

# (module (func (export "recurse") (local i64 i64 i64 i64) call 0)): 4 stack slots a frame
MOD_recurse_locals='
00 61 73 6d 01 00 00 00
01 04 01 60 00 00
03 02 01 00
07 0b 01 07 72 65 63 75 72 73 65 00 00
0a 08 01 06 01 04 7e 10 00 0b'

# (module (func (export "spin") (loop br 0)))
MOD_spin='
00 61 73 6d 01 00 00 00
01 04 01 60 00 00
03 02 01 00
07 08 01 04 73 70 69 6e 00 00
0a 09 01 07 00 03 40 0c 00 0b 0b'

# (module (func (export "_start")))
MOD_start='
00 61 73 6d 01 00 00 00
01 04 01 60 00 00
03 02 01 00
07 0a 01 06 5f 73 74 61 72 74 00 00
0a 04 01 02 00 0b'

# (module (func (export "_start") unreachable) (start 0))
MOD_start_trap='
00 61 73 6d 01 00 00 00
01 04 01 60 00 00
03 02 01 00
07 0a 01 06 5f 73 74 61 72 74 00 00
08 01 00
0a 05 01 03 00 00 0b'

# (module (import "env" "f" (func)) (func (export "g") call 0))
MOD_import='
00 61 73 6d 01 00 00 00
01 04 01 60 00 00
02 09 01 03 65 6e 76 01 66 00 00
03 02 01 00
07 05 01 01 67 00 01
0a 06 01 04 00 10 00 0b'

# (module
#   (type $t (func (result i32)))
#   (table 1 funcref) (memory (export "memory") 1) (global $g (mut i32) (i32.const 5))
#   (func (export "load") (type $t) i32.const 0 i32.load8_u global.get $g i32.add)
#   (func (export "indirect") (type $t) i32.const 0 call_indirect (type $t))
#   (elem (i32.const 0) func 0)
#   (data (i32.const 0) "hi"))
MOD_mem='
00 61 73 6d 01 00 00 00
01 05 01 60 00 01 7f
03 03 02 00 00
04 04 01 70 00 01
05 03 01 00 01
06 06 01 7f 01 41 05 0b
07 1c 03
   04 6c 6f 61 64 00 00
   08 69 6e 64 69 72 65 63 74 00 01
   06 6d 65 6d 6f 72 79 02 00
09 07 01 00 41 00 0b 01 00
0a 14 02
   0a 00 41 00 2d 00 00 23 00 6a 0b
   07 00 41 00 11 00 00 0b
0b 08 01 00 41 00 0b 02 68 69'

# (module (func (export "f") (result i32))): the body lacks its result, so it decodes but
# does not validate.
MOD_invalid='
00 61 73 6d 01 00 00 00
01 05 01 60 00 01 7f
03 02 01 00
07 05 01 01 66 00 00
0a 04 01 02 00 0b'

# A type section that claims 5 bytes but the file ends after 1: malformed at offset 10.
MOD_truncated='
00 61 73 6d 01 00 00 00
01 05 01'
