;; traps.wat - trap codes, backtraces with names, and the call-depth limit (test_traps.c).
;; Function order matters: the tests use the indices 0..6 given in the comments.
(module
  (memory 1)
  (table 2 funcref)
  (type $v_i (func (result i32)))

  ;; 0: divides by its argument (traps with 0)
  (func $inner (param i32) (result i32)
    (i32.div_s (i32.const 100) (local.get 0)))
  ;; 1
  (func $middle (param i32) (result i32)
    (i32.add (i32.const 1) (call $inner (local.get 0))))
  ;; 2
  (func $outer (export "outer") (param i32) (result i32)
    (call $middle (local.get 0)))
  ;; 3
  (func $unreach (export "unreach")
    (unreachable))
  ;; 4: loads at its argument
  (func $load (export "load") (param i32) (result i32)
    (i32.load (local.get 0)))
  ;; 5: recursion depth n, returns n (uses n + 1 frames)
  (func $count (export "count") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $count (i32.sub (local.get 0) (i32.const 1)))))))
  ;; 6: never stops recursing
  (func $forever (export "forever") (param i32) (result i32)
    (call $forever (i32.add (local.get 0) (i32.const 1))))
  ;; 7: calls table slot 1 (empty)
  (func $indirect (export "indirect") (result i32)
    (call_indirect (type $v_i) (i32.const 1)))
  ;; 8: many locals per frame, for the stack-slot limit
  (func $fat (export "fat") (param i32) (result i32)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $fat (i32.sub (local.get 0) (i32.const 1)))))))
  ;; 9: trunc of NaN
  (func (export "bad_conv") (param f32) (result i32)
    (i32.trunc_f32_s (local.get 0)))
)
