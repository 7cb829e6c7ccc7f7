;; host.wat - host functions: values, traps, exit, suspension, re-entry (test_host.c).
;; Imports are functions 0..6; the tests use the indices given in the comments.
(module
  (import "env" "roundtrip" (func $roundtrip (param i32 i64 f32 f64) (result f64 f32 i64 i32)))
  (import "env" "fail" (func $fail (param i32)))
  (import "env" "exit" (func $exit (param i32)))
  (import "env" "blocking" (func $blocking (param i32) (result i32)))
  (import "env" "reenter" (func $reenter (param i32) (result i32)))
  (import "env" "narrow" (func $narrow (result i32)))
  (import "env" "peek" (func $peek (param i32) (result i32)))
  (type $i_i (func (param i32) (result i32)))
  (memory (export "mem") 1)
  (table 1 funcref)
  (elem (i32.const 0) $blocking)

  ;; 7
  (func $call_roundtrip (export "call_roundtrip") (param i32 i64 f32 f64) (result f64 f32 i64 i32)
    (call $roundtrip (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  ;; 8
  (func $call_fail (export "call_fail") (param i32) (result i32)
    (call $fail (local.get 0))
    (i32.const 1))
  ;; 9
  (func $call_exit (export "call_exit") (param i32) (result i32)
    (call $exit (local.get 0))
    (i32.const 1))
  ;; 10
  (func $call_blocking (export "call_blocking") (param i32) (result i32)
    (i32.add (i32.const 1000) (call $blocking (local.get 0))))
  ;; 11
  (func $call_blocking_indirect (export "call_blocking_indirect") (param i32) (result i32)
    (i32.add (i32.const 1000) (call_indirect (type $i_i) (local.get 0) (i32.const 0))))
  ;; 12
  (func $call_reenter (export "call_reenter") (param i32) (result i32)
    (i32.add (i32.const 100000) (call $reenter (local.get 0))))
  ;; 13
  (func $square (export "square") (param i32) (result i32)
    (i32.mul (local.get 0) (local.get 0)))
  ;; 14
  (func $sum_to (export "sum_to") (param $n i32) (result i32) (local $acc i32)
    (block $done
      (loop $top
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (local.set $acc (i32.add (local.get $acc) (local.get $n)))
        (br $top)))
    (local.get $acc))
  ;; 15
  (func $call_narrow (export "call_narrow") (result i64)
    (i64.extend_i32_u (call $narrow)))
  ;; 16
  (func $poke_peek (export "poke_peek") (param i32 i32) (result i32)
    (i32.store8 (local.get 0) (local.get 1))
    (call $peek (local.get 0)))
  ;; 17
  (func $divide (export "divide") (param i32) (result i32)
    (i32.div_u (i32.const 7) (local.get 0)))
)
