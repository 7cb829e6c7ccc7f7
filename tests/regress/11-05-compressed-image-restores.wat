;; 11-05: 4 MiB of memory filled with 1s compresses to a few hundred bytes: far better than
;; the reader's old cap (4 x file size + 1 MiB) allowed. _start fills the memory, counts to
;; 3,000,000 (the checkpoint lands inside the loop), then exits with 7 iff the first and
;; the last byte of the 4 MiB still read 1.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 64)
  (func (export "_start")
    (local $i i32)
    (memory.fill (i32.const 0) (i32.const 1) (i32.const 0x400000))
    (loop $spin
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $spin (i32.lt_u (local.get $i) (i32.const 3000000))))
    (call $proc_exit
      (select (i32.const 7) (i32.const 1)
        (i32.and
          (i32.eq (i32.load8_u (i32.const 0)) (i32.const 1))
          (i32.eq (i32.load8_u (i32.const 0x3fffff)) (i32.const 1)))))))
