;; Issue 17: fills 3 MiB of memory with non-zero words (a mark "PAGEMARK" at 1.5 MiB),
;; prints "ready", spins for a while (a checkpoint is taken there), then sums every word
;; and exits with 10 + (sum mod 200): a restore that got any byte wrong exits otherwise.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 48)
  (func (export "_start")
    (local $i i32) (local $sum i32)
    (loop $fill
      (i32.store (local.get $i) (i32.or (i32.mul (local.get $i) (i32.const -1640531535))
                                        (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 3145728))))
    (i64.store (i32.const 1572864) (i64.const 0x4b52414d45474150)) ;; "PAGEMARK"
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 6))
    (i64.store (i32.const 16) (i64.const 0x0a7964616572)) ;; "ready\n"
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (local.set $i (i32.const 60000000))
    (loop $spin
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $spin (local.get $i)))
    (loop $add
      (local.set $sum (i32.add (local.get $sum) (i32.load (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $add (i32.lt_u (local.get $i) (i32.const 3145728))))
    (call $exit (i32.add (i32.const 10) (i32.rem_u (local.get $sum) (i32.const 200))))))
