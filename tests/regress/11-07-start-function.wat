;; Issue 11, defect 7: a module whose start function prints "in start" and then reads
;; standard input until it ends, spinning a little after each read (so a signal can land
;; both in the blocking read and in wasm code). _start then prints "main", counts to
;; 3,000,000 and prints "end".
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "in start\n")
  (data (i32.const 120) "main\n")
  (data (i32.const 140) "end\n")
  (func $say (param $at i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $at))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func $start (local $i i32)
    (call $say (i32.const 100) (i32.const 9))
    (block $eof
      (loop $read
        (i32.store (i32.const 16) (i32.const 1024))
        (i32.store (i32.const 20) (i32.const 64))
        (br_if $eof (call $fd_read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 24)))
        (br_if $eof (i32.eqz (i32.load (i32.const 24))))
        (local.set $i (i32.const 0))
        (loop $spin
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $spin (i32.lt_u (local.get $i) (i32.const 100000))))
        (br $read))))
  (start $start)
  (func (export "_start") (local $i i32)
    (call $say (i32.const 120) (i32.const 5))
    (loop $count
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $count (i32.lt_u (local.get $i) (i32.const 3000000))))
    (call $say (i32.const 140) (i32.const 4))))
