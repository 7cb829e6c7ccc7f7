;; link_b.wat - imports everything link_a.wat exports, and changes it (test_link.c).
(module
  (import "a" "mem" (memory 1))
  (import "a" "tab" (table 4 funcref))
  (import "a" "counter" (global $counter (mut i32)))
  (import "a" "konst" (global $konst i64))
  (import "a" "double" (func $double (param i32) (result i32)))
  (type $i_i (func (param i32) (result i32)))
  (elem (i32.const 1) $triple)
  (data (i32.const 100) "\2a\00\00\00")
  (func $triple (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  ;; bumps a's counter, stores double(x) at 200 in a's memory, returns slot 0 of a's table at x
  (func (export "run") (param $x i32) (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (i32.store (i32.const 200) (call $double (local.get $x)))
    (call_indirect (type $i_i) (local.get $x) (i32.const 0)))
  (func (export "konst") (result i64) (global.get $konst))
  (func (export "grow") (result i32) (memory.grow (i32.const 1)))
)
