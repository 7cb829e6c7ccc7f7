;; values.wat - typed calls and bit-exact float values (test_values.c).
(module
  (memory 1)
  (global $g32 (export "g32") (mut f32) (f32.const 0))
  (global $g64 (export "g64") (mut f64) (f64.const 0))

  (func (export "id_f32") (param f32) (result f32) (local.get 0))
  (func (export "id_f64") (param f64) (result f64) (local.get 0))
  (func (export "neg_f32") (param f32) (result f32) (f32.neg (local.get 0)))
  (func (export "neg_f64") (param f64) (result f64) (f64.neg (local.get 0)))

  ;; through a mutable global, set and read back by wasm
  (func (export "via_g32") (param f32) (result f32)
    (global.set $g32 (local.get 0))
    (global.get $g32))
  (func (export "via_g64") (param f64) (result f64)
    (global.set $g64 (local.get 0))
    (global.get $g64))
  (func (export "get_g32") (result f32) (global.get $g32))
  (func (export "get_g64") (result f64) (global.get $g64))

  ;; through linear memory, and as raw bits
  (func (export "via_mem_f32") (param f32) (result f32 i32)
    (f32.store (i32.const 8) (local.get 0))
    (f32.load (i32.const 8))
    (i32.load (i32.const 8)))
  (func (export "via_mem_f64") (param f64) (result f64 i64)
    (f64.store (i32.const 16) (local.get 0))
    (f64.load (i32.const 16))
    (i64.load (i32.const 16)))
  (func (export "bits_f32") (param f32) (result i32) (i32.reinterpret_f32 (local.get 0)))
  (func (export "from_bits_f64") (param i64) (result f64) (f64.reinterpret_i64 (local.get 0)))

  ;; every value type in and out, reordered (multi-value)
  (func (export "swap4") (param i32 i64 f32 f64) (result f64 f32 i64 i32)
    (local.get 3) (local.get 2) (local.get 1) (local.get 0))
  (func (export "arith") (param i32 i64) (result i32 i64)
    (i32.sub (i32.const 0) (local.get 0))
    (i64.mul (local.get 1) (i64.const 3)))
  (func (export "extend_u") (param i32) (result i64) (i64.extend_i32_u (local.get 0)))
  (func (export "nothing"))
)
