;; a + b*c through the fused multiply-add of the fast loop (fuse.c matches mul then add).
(module
  (func (export "muladd") (param f64 f64 f64) (result i64)
    local.get 0 local.get 1 local.get 2 f64.mul f64.add i64.reinterpret_f64)
  (func (export "muladd32") (param f32 f32 f32) (result i32)
    local.get 0 local.get 1 local.get 2 f32.mul f32.add i32.reinterpret_f32))
