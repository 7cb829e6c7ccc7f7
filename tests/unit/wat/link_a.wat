;; link_a.wat - exports a memory, a table, globals and functions for link_b.wat (test_link.c).
(module
  (type $i_i (func (param i32) (result i32)))
  (memory (export "mem") 1 2)
  (table (export "tab") 4 funcref)
  (global (export "counter") (mut i32) (i32.const 10))
  (global (export "konst") i64 (i64.const 77))
  (elem (i32.const 0) $double)
  (func $double (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "get_counter") (result i32) (global.get 0))
  (func (export "peek") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "call_slot") (param $slot i32) (param $x i32) (result i32)
    (call_indirect (type $i_i) (local.get $x) (local.get $slot)))
)
