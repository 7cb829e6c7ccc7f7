;; A start function that traps: instantiation fails with that trap (tests/capi/capi_test.c).
(module
  (memory (export "m") 1)
  (func $start i32.const 1 i32.const 0 i32.div_u drop)
  (start $start))
