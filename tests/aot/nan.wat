;; nan.wat - float results whose NaN bits the AOT tier may leave uncanonical (an add of a
;; product), next to ones it must canonicalize (a product negated, a difference kept in a
;; local): tests/aot/run.sh checks both tiers give the canonical bits.
(module
  (func (export "chain") (param $a f64) (param $b f64) (param $c f64) (result i64)
    (i64.reinterpret_f64 (f64.add (f64.mul (local.get $a) (local.get $b)) (local.get $c))))
  (func (export "negmul") (param $a f64) (param $b f64) (result i64)
    (i64.reinterpret_f64 (f64.neg (f64.mul (local.get $a) (local.get $b)))))
  (func (export "cmp") (param $a f64) (param $b f64) (result i32)
    (f64.eq (f64.mul (local.get $a) (local.get $b)) (f64.mul (local.get $a) (local.get $b))))
  (func (export "tee") (param $a f32) (param $b f32) (result i32)
    (local $t f32)
    (local.set $t (f32.sub (local.get $a) (local.get $b)))
    (i32.reinterpret_f32 (f32.copysign (local.get $t) (f32.const -1))))
)
