;; Issue 17: fills 8 MiB of memory with non-zero words, prints "ready", then rewrites every
;; word 32 times (a checkpoint is taken meanwhile, while the run goes on writing every page
;; the image holds), sums them and exits with 10 + (sum mod 200): an image that mixed pages
;; from after its stop with the frame of the stop would end otherwise.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 128)
  (func (export "_start")
    (local $i i32) (local $r i32) (local $sum i32)
    (loop $fill
      (i32.store (local.get $i) (i32.or (i32.mul (local.get $i) (i32.const -1640531535))
                                        (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 8388608))))
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 6))
    (i64.store (i32.const 16) (i64.const 0x0a7964616572)) ;; "ready\n"
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (loop $round
      (local.set $i (i32.const 64))
      (loop $word
        (i32.store (local.get $i)
          (i32.add (i32.mul (i32.load (local.get $i)) (i32.const 3)) (local.get $r)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br_if $word (i32.lt_u (local.get $i) (i32.const 8388608))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $round (i32.lt_u (local.get $r) (i32.const 32))))
    (local.set $i (i32.const 0))
    (loop $add
      (local.set $sum (i32.add (local.get $sum) (i32.load (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $add (i32.lt_u (local.get $i) (i32.const 8388608))))
    (call $exit (i32.add (i32.const 10) (i32.rem_u (local.get $sum) (i32.const 200))))))
