;; snap.wat - a module whose whole state moves through an image: memory, globals, a table
;; of function references, dropped segments, recursion and indirect calls.
(module
  (type $un (func (param i32) (result i32)))
  (memory 1 4)
  (table $t 4 funcref)
  (elem (i32.const 0) $sq $fib $tri $sq)
  (data $d "waft-data")
  (global $count (mut i32) (i32.const 0))
  (global $acc (mut i64) (i64.const 7))
  (global $fref (mut funcref) (ref.null func))

  (func $sq (type $un) (i32.mul (local.get 0) (local.get 0)))
  (func $fib (type $un)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func $tri (type $un) (local $s i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get 0)))
        (local.set $s (i32.add (local.get $s) (local.get 0)))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br $l)))
    (local.get $s))

  ;; run(n): mixes everything; returns a checksum
  (func (export "run") (param $n i32) (result i64) (local $i i32) (local $v i32) (local $f f64)
    (memory.init $d (i32.const 100) (i32.const 0) (i32.const 9))
    (data.drop $d)
    (global.set $fref (ref.func $tri))
    (block $out
      (loop $top
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $v
          (call_indirect (type $un) (i32.rem_u (local.get $i) (i32.const 12))
                                    (i32.rem_u (local.get $i) (i32.const 4))))
        (i32.store (i32.mul (i32.rem_u (local.get $i) (i32.const 4000)) (i32.const 4))
                   (local.get $v))
        (local.set $f (f64.add (local.get $f) (f64.convert_i32_u (local.get $v))))
        (block $b2 (block $b1 (block $b0
          (br_table $b0 $b1 $b2 (i32.rem_u (local.get $i) (i32.const 3))))
          (global.set $acc (i64.add (global.get $acc) (i64.extend_i32_u (local.get $v))))
          (br $b2))
          (global.set $acc (i64.xor (global.get $acc) (i64.const 0x5bd1e995))))
        (global.set $count (i32.add (global.get $count) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (i64.add (i64.add (global.get $acc) (i64.trunc_f64_u (local.get $f)))
             (i64.extend_i32_u (i32.load8_u (i32.const 104)))))

  (func (export "count") (result i32) (global.get $count))
  (func (export "acc") (result i64) (global.get $acc))
;; the funcref saved in a global must still name $tri after a restore
  (table $t2 1 funcref)
  (func (export "fref_is_tri") (result i32)
    (table.set $t2 (i32.const 0) (global.get $fref))
    (i32.eq (call_indirect $t2 (type $un) (i32.const 4) (i32.const 0))
            (call $tri (i32.const 4))))
)
