;; Recurses 1,100,000 calls deep (more than the 2^20 frames the image reader used to accept),
;; spins 3,000,000 times at the bottom (the checkpoint lands there), then returns all the way
;; and exits with 7.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func $down (param $n i32)
    (local $i i32)
    (if (local.get $n)
      (then (call $down (i32.sub (local.get $n) (i32.const 1))))
      (else
        (loop $spin
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $spin (i32.lt_u (local.get $i) (i32.const 3000000)))))))
  (func (export "_start")
    (call $down (i32.const 1100000))
    (call $exit (i32.const 7))))
