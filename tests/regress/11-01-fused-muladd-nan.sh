# Issue 11, defect 1: the fast loop's fused multiply-add skipped the canonical-NaN step, so
# inf*0 (or a NaN operand) gave a different result than the counting loop, that is, a
# checkpoint changed the program's result. Each case runs in the fast loop and with
# --count-steps, and both must print the canonical NaN.
wat 11-01-fused-muladd-nan.wat m.wasm
check()
{
    local fn=$1 want=$2 fast counted
    shift 2
    expect_status 0 "$waft" run --invoke "$fn" m.wasm "$@"
    fast=$(cat out.txt)
    expect_status 0 "$waft" run --count-steps --invoke "$fn" m.wasm "$@"
    counted=$(head -n1 out.txt)
    [[ $fast == "$want" ]] || fail "$fn $*: fast loop gave '$fast', expected '$want'"
    [[ $counted == "$want" ]] || fail "$fn $*: counting loop gave '$counted', expected '$want'"
}
check muladd 9221120237041090560 1 inf 0        # 0x7ff8000000000000
check muladd 9221120237041090560 1 -inf 0
check muladd 9221120237041090560 nan:0x1234 1 1 # a payload does not survive arithmetic
check muladd32 2143289344 1 inf 0               # 0x7fc00000
check muladd32 2143289344 nan:0x1234 1 1
check muladd 4611686018427387904 1 1 1          # 2.0: ordinary values unchanged
