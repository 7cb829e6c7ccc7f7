;; migrate_guest.wat - the guest of examples/migrate_self.c: prints "tick NN" 20 times,
;; rewriting 64 KiB of its memory between two lines, then a checksum of that memory, so a
;; migration that lost or reordered a write would change its output.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 4)
  ;; iovec at 0 -> the line at 100; bytes written at 16
  (data (i32.const 100) "tick 00\n")
  (func $put_line (param $len i32)
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))))
  (func $digit (param $at i32) (param $v i32)
    (i32.store8 (local.get $at) (i32.add (i32.const 48) (local.get $v))))
  (func (export "_start") (local $n i32) (local $k i32) (local $sum i32) (local $i i32)
    (loop $ticks
      (call $digit (i32.const 105) (i32.div_u (local.get $n) (i32.const 10)))
      (call $digit (i32.const 106) (i32.rem_u (local.get $n) (i32.const 10)))
      (call $put_line (i32.const 8))
      ;; busy work: 2000000 stores over 64 KiB from offset 65536
      (local.set $k (i32.const 0))
      (loop $work
        (i32.store
          (i32.add (i32.const 65536) (i32.shl (i32.and (local.get $k) (i32.const 16383)) (i32.const 2)))
          (i32.add (i32.mul (local.get $k) (i32.const 2654435761)) (local.get $n)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br_if $work (i32.lt_u (local.get $k) (i32.const 2000000))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $ticks (i32.lt_u (local.get $n) (i32.const 20))))
    ;; checksum of the 64 KiB, printed as 8 hex digits: "sum XXXXXXXX\n"
    (loop $add
      (local.set $sum (i32.add (i32.rotl (local.get $sum) (i32.const 5))
        (i32.load (i32.add (i32.const 65536) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $add (i32.lt_u (local.get $i) (i32.const 65536))))
    (i32.store (i32.const 100) (i32.const 0x206d7573)) ;; "sum "
    (local.set $i (i32.const 0))
    (loop $hex
      (local.set $k (i32.and (i32.shr_u (local.get $sum) (i32.sub (i32.const 28)
        (i32.shl (local.get $i) (i32.const 2)))) (i32.const 15)))
      (i32.store8 (i32.add (i32.const 104) (local.get $i))
        (i32.add (local.get $k) (select (i32.const 48) (i32.const 87)
          (i32.lt_u (local.get $k) (i32.const 10)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $hex (i32.lt_u (local.get $i) (i32.const 8))))
    (i32.store8 (i32.const 112) (i32.const 10))
    (call $put_line (i32.const 13))))
