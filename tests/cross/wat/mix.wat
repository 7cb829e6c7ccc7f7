;; mix.wat - integer state for the cross-restore matrix (tests/cross/run.sh).
;; Linear memory is written with every access width at unaligned addresses and read back
;; with other widths, so its bytes depend on wasm's little-endian order being kept on
;; big-endian hosts; bulk memory, growth, a table of function references, indirect calls,
;; recursion, multi-value blocks and globals of each type are all live when a checkpoint
;; lands. `run` returns a checksum; the driver also compares every exported global and the
;; memory's bytes.
(module
  (type $un (func (param i32) (result i32)))
  (memory (export "mem") 2 8)
  (table $t 6 funcref)
  (elem (i32.const 0) $sq $fib $tri $twist $sq)
  (elem $later func $fib $tri)
  (data $d "\01\02\03\04\05\06\07\08\f0\e1\d2\c3\b4\a5\96\87waft-cross")
  (global $g32 (export "g32") (mut i32) (i32.const 0))
  (global $g64 (export "g64") (mut i64) (i64.const 0x0123456789abcdef))
  (global $gf32 (export "gf32") (mut f32) (f32.const 0))
  (global $gf64 (export "gf64") (mut f64) (f64.const 0))
  (global $gref (mut funcref) (ref.null func))

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
  ;; sign extensions and rotations
  (func $twist (type $un)
    (i32.xor (i32.extend8_s (local.get 0))
             (i32.rotl (i32.extend16_s (i32.mul (local.get 0) (i32.const 40503)))
                       (local.get 0))))

  ;; depth frames deep; each frame keeps an i64 and an f64 local and writes memory
  (func $deep (param $n i32) (param $x i64) (result i64) (local $f f64)
    (local.set $f (f64.convert_i64_s (local.get $x)))
    (i64.store offset=3 (i32.and (i32.mul (local.get $n) (i32.const 8)) (i32.const 0x3ff8))
               (local.get $x))
    (if (result i64) (i32.eqz (local.get $n))
      (then (local.get $x))
      (else
        (i64.add (call $deep (i32.sub (local.get $n) (i32.const 1))
                             (i64.add (i64.rotl (local.get $x) (i64.const 5)) (i64.const 1)))
                 (i64.trunc_sat_f64_s (f64.mul (local.get $f) (f64.const 0.5)))))))

  ;; two results from one block
  (func $pair (param $a i32) (result i32 i64)
    (block (result i32 i64)
      (i32.add (local.get $a) (i32.const 1))
      (i64.mul (i64.extend_i32_u (local.get $a)) (i64.const 0x9e3779b97f4a7c15))))

  (func (export "run") (result i64) (local $i i32) (local $v i32) (local $a i32)
                                    (local $acc i64) (local $w i64)
    (memory.init $d (i32.const 101) (i32.const 0) (i32.const 26))
    (data.drop $d)
    (global.set $gref (ref.func $tri))
    (block $out
      (loop $top
        (br_if $out (i32.ge_u (local.get $i) (i32.const 2400)))
        (local.set $v (call_indirect (type $un) (i32.rem_u (local.get $i) (i32.const 16))
                                                (i32.rem_u (local.get $i) (i32.const 5))))
        ;; unaligned stores of every width, then a read across them with another width
        (local.set $a (i32.add (i32.rem_u (i32.mul (local.get $i) (i32.const 97))
                                          (i32.const 120000))
                               (i32.const 3)))
        (i32.store offset=1 (local.get $a) (local.get $v))
        (i64.store16 offset=6 (local.get $a) (i64.extend_i32_s (local.get $v)))
        (i32.store8 offset=9 (local.get $a) (local.get $i))
        (i64.store32 offset=11 (local.get $a) (global.get $g64))
        (local.set $w (i64.load offset=2 (local.get $a)))
        (local.set $acc (i64.add (i64.rotl (local.get $acc) (i64.const 9))
                                 (i64.xor (local.get $w)
                                          (i64.load16_s offset=5 (local.get $a)))))
        (global.set $g64 (i64.add (i64.xor (global.get $g64) (local.get $w))
                                  (i64.load32_u offset=101 (i32.const 0))))
        (global.set $g32 (i32.add (global.get $g32)
                                  (i32.add (i32.load8_s offset=9 (local.get $a))
                                           (i32.load16_u offset=1 (local.get $a)))))
        (global.set $gf32 (f32.add (global.get $gf32) (f32.convert_i32_s (local.get $v))))
        (global.set $gf64 (f64.add (global.get $gf64)
                                   (f64.convert_i64_u (i64.shr_u (local.get $w) (i64.const 12)))))
        ;; multi-value
        (call $pair (local.get $i))
        (local.set $acc (i64.xor (local.get $acc)))
        i64.extend_i32_u
        (local.set $acc (i64.add (local.get $acc)))
        ;; branch by table
        (block $b3 (block $b2 (block $b1 (block $b0
          (br_table $b0 $b1 $b2 $b3 (i32.rem_u (local.get $i) (i32.const 4))))
          (memory.copy (i32.add (local.get $a) (i32.const 4000)) (local.get $a) (i32.const 37))
          (br $b3))
          (memory.fill (i32.add (local.get $a) (i32.const 900)) (local.get $i) (i32.const 19))
          (br $b3))
          (table.set $t (i32.const 5) (global.get $gref))
          (local.set $acc (i64.add (local.get $acc)
                                   (i64.extend_i32_u (call_indirect (type $un)
                                                       (i32.const 9) (i32.const 5)))))
          (br $b3))
        (if (i32.eq (i32.rem_u (local.get $i) (i32.const 600)) (i32.const 599))
          (then
            (local.set $acc (i64.add (local.get $acc)
                                     (call $deep (i32.const 400) (local.get $acc))))))
        (if (i32.eq (local.get $i) (i32.const 1200))
          (then
            (drop (memory.grow (i32.const 1)))
            (drop (table.grow $t (ref.func $fib) (i32.const 2)))
            (table.init $t $later (i32.const 6) (i32.const 0) (i32.const 2))
            (elem.drop $later)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (i64.add (local.get $acc)
             (i64.extend_i32_u (i32.add (memory.size) (table.size $t)))))
)
