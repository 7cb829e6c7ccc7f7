;; floats.wat - float state for the cross-restore matrix (tests/cross/run.sh).
;; Signalling NaNs with payloads live in locals, globals, memory, call arguments and on the
;; operand stack while checkpoints land; only the operations that must keep their bits
;; touch them (moves, loads/stores, select, neg/abs/copysign, reinterpret). The arithmetic
;; is IEEE-754 with round-to-nearest, so its results are the same on every host; its NaN
;; results (whose bits wasm leaves to the host) are folded to one canonical value before
;; they reach the checksum.
(module
  (memory (export "mem") 1 1)
  (global $sn32 (export "sn32") (mut f32) (f32.const nan:0x200001))
  (global $sn64 (export "sn64") (mut f64) (f64.const -nan:0x4000000000001))
  (global $sum32 (export "sum32") (mut f32) (f32.const 0))
  (global $sum64 (export "sum64") (mut f64) (f64.const 0))
  (global $bits (export "bits") (mut i64) (i64.const 0))

  ;; passes a NaN through a call and back
  (func $keep32 (param f32) (result f32) (local.get 0))
  (func $keep64 (param f64) (param i32) (result f64)
    (select (local.get 0) (f64.neg (local.get 0)) (local.get 1)))

  ;; a NaN result of arithmetic as one fixed value, anything else unchanged
  (func $canon64 (param f64) (result f64)
    (select (f64.const nan:0x8000000000000) (local.get 0)
            (f64.ne (local.get 0) (local.get 0))))

  (func (export "run") (result i64)
    (local $i i32) (local $x f32) (local $y f64) (local $n32 f32) (local $n64 f64)
    (local $acc i64)
    (local.set $x (f32.const 1.5))
    (local.set $y (f64.const -0.75))
    (block $out
      (loop $top
        (br_if $out (i32.ge_u (local.get $i) (i32.const 3000)))
        ;; a fresh signalling NaN per iteration, moved around
        (local.set $n32 (f32.reinterpret_i32
                          (i32.or (i32.const 0x7f800001)
                                  (i32.and (i32.mul (local.get $i) (i32.const 2654435))
                                           (i32.const 0x1fffff)))))
        (local.set $n64 (f64.copysign
                          (f64.reinterpret_i64
                            (i64.or (i64.const 0x7ff0000000000001)
                                    (i64.shl (i64.extend_i32_u (local.get $i)) (i64.const 20))))
                          (local.get $y)))
        (f32.store offset=4 (i32.and (i32.mul (local.get $i) (i32.const 12)) (i32.const 0xfff0))
                   (call $keep32 (f32.neg (local.get $n32))))
        (f64.store offset=8 (i32.and (i32.mul (local.get $i) (i32.const 12)) (i32.const 0xfff0))
                   (call $keep64 (f64.abs (local.get $n64)) (i32.and (local.get $i) (i32.const 1))))
        (if (i32.eqz (i32.rem_u (local.get $i) (i32.const 7)))
          (then
            (global.set $sn32 (f32.copysign (local.get $n32) (global.get $sn32)))
            (global.set $sn64 (f64.load offset=8
                                (i32.and (i32.mul (local.get $i) (i32.const 12))
                                         (i32.const 0xfff0))))))
        (local.set $acc
          (i64.add (i64.rotl (local.get $acc) (i64.const 3))
                   (i64.xor (i64.extend_i32_u (i32.reinterpret_f32
                              (f32.load offset=4 (i32.and (i32.mul (local.get $i) (i32.const 12))
                                                          (i32.const 0xfff0)))))
                            (i64.reinterpret_f64 (global.get $sn64)))))
        ;; ordinary arithmetic, every rounding step visible
        (local.set $x (f32.add (f32.mul (local.get $x) (f32.const 1.0000001))
                               (f32.sqrt (f32.convert_i32_u (local.get $i)))))
        (local.set $y (f64.add (f64.div (local.get $y) (f64.const 3.0000000001))
                               (f64.mul (f64.sqrt (f64.convert_i32_s (local.get $i)))
                                        (f64.promote_f32 (local.get $x)))))
        (local.set $y (f64.add (local.get $y)
                               (f64.nearest (f64.div (f64.convert_i64_s (local.get $acc))
                                                     (f64.const 1e15)))))
        (global.set $sum32 (f32.add (global.get $sum32)
                                    (f32.demote_f64 (f64.floor (local.get $y)))))
        (global.set $sum64 (f64.add (global.get $sum64)
                                    (call $canon64
                                      (f64.sub (f64.max (local.get $y) (f64.ceil (local.get $y)))
                                               (f64.min (f64.trunc (local.get $y))
                                                        (local.get $y))))))
        ;; NaN arithmetic, canonicalized before it is kept
        (global.set $bits (i64.xor (global.get $bits)
                                   (i64.reinterpret_f64
                                     (call $canon64 (f64.add (local.get $n64) (local.get $y))))))
        (global.set $bits (i64.add (global.get $bits)
                                   (i64.trunc_sat_f64_s (f64.mul (local.get $y) (f64.const 1e6)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (i64.add (local.get $acc) (i64.reinterpret_f64 (local.get $y))))

  ;; What this host's arithmetic makes of NaNs (wasm leaves these bits to the host):
  ;; 0/0, inf-inf, sNaN+1, qNaN*1. Informational; the driver prints it.
  (func (export "nan_bits") (result i64 i64 i64 i64)
    (i64.reinterpret_f64 (f64.div (f64.const 0) (f64.const 0)))
    (i64.reinterpret_f64 (f64.sub (f64.const inf) (f64.const inf)))
    (i64.reinterpret_f64 (f64.add (f64.const nan:0x4000000000001) (f64.const 1)))
    (i64.reinterpret_f64 (f64.mul (f64.const -nan:0x8000000000123) (f64.const 1))))
)
