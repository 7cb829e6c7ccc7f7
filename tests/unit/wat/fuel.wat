;; fuel.wat - fuel, single-stepping, frame inspection and interrupts (test_fuel.c,
;; test_interrupt.c). test_fuel.c checks the encoding of $sum byte by byte: keep it as is.
(module
  (memory 1)
  (type $i_i (func (param i32) (result i32)))
  (table funcref (elem $classify $mix))
  (global $calls (mut i32) (i32.const 0))
  (global $spins (export "spins") (mut i64) (i64.const 0))

  ;; 0: 0 + 1 + ... + (n - 1)
  (func $sum (export "sum") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (local.get $acc))

  ;; 1: a different computation for each x mod 5, through br_table
  (func $classify (param $x i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (block $d
      (block $c
        (block $b
          (block $a
            (br_table $a $b $c $d (i32.rem_u (local.get $x) (i32.const 5))))
          (return (i32.mul (local.get $x) (i32.const 3))))
        (return (i32.xor (local.get $x) (i32.const 0x55))))
      (return (i32.rotl (local.get $x) (i32.const 7))))
    (i32.sub (i32.const 1000) (local.get $x)))

  ;; 2
  (func $mix (param $x i32) (result i32)
    (i32.add (call $classify (local.get $x)) (i32.shl (local.get $x) (i32.const 2))))

  ;; 3: loops, direct and indirect calls, br_table, loads and stores; a hash of it all.
  ;; Idempotent: it clears the memory it uses first.
  (func $work (export "work") (param $n i32) (result i64) (local $i i32) (local $h i64) (local $v i32)
    (global.set $calls (i32.const 0))
    (memory.fill (i32.const 0) (i32.const 0) (i32.const 2048))
    (local.set $h (i64.const 0xcbf29ce484222325))
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $v
          (call_indirect (type $i_i) (local.get $i) (i32.and (local.get $i) (i32.const 1))))
        (i32.store
          (i32.and (i32.mul (local.get $i) (i32.const 4)) (i32.const 1020))
          (i32.add
            (i32.load (i32.and (i32.mul (local.get $i) (i32.const 4)) (i32.const 1020)))
            (local.get $v)))
        (i32.store8 offset=1024 (local.get $i) (local.get $v))
        (local.set $h
          (i64.mul (i64.xor (local.get $h) (i64.extend_i32_u (local.get $v)))
                   (i64.const 0x100000001b3)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (local.set $i (i32.const 0))
    (loop $fold
      (local.set $h (i64.add (i64.rotl (local.get $h) (i64.const 5))
                             (i64.load (local.get $i))))
      (br_if $fold
        (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 8))) (i32.const 1280))))
    (i64.add (local.get $h) (i64.extend_i32_u (global.get $calls))))

  ;; 4: never returns
  (func $spin (export "spin")
    (loop $l
      (global.set $spins (i64.add (global.get $spins) (i64.const 1)))
      (br $l)))

  ;; 5, 6: no loops, one call
  (func $leaf (export "leaf") (param i32) (result i32)
    (i32.add (local.get 0) (i32.const 1)))
  (func $caller (export "caller") (param i32) (result i32)
    (i32.mul (call $leaf (local.get 0)) (i32.const 10)))
)
