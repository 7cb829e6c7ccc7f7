;; Opens "f.txt" in its preopened directory (fd 3) for reading, reads 2 bytes, counts to
;; 200000 (a checkpoint is taken inside the loop), then reads the rest to stdout.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  ;; 0: fd, 8: iovec {64, 2}, 16: iovec {64, 100}, 24: out iovec {64, n}, 32: count,
  ;; 48: "f.txt", 64: buffer
  (data (i32.const 8) "\40\00\00\00\02\00\00\00\40\00\00\00\64\00\00\00\40\00\00\00")
  (data (i32.const 48) "f.txt")
  (func $check (param $e i32)
    (if (local.get $e) (then (call $exit (local.get $e)))))
  (func (export "_start")
    (local $i i32)
    ;; rights FD_READ | FD_SEEK | FD_TELL
    (call $check (call $open (i32.const 3) (i32.const 0) (i32.const 48) (i32.const 5)
      (i32.const 0) (i64.const 38) (i64.const 0) (i32.const 0) (i32.const 0)))
    (call $check (call $read (i32.load (i32.const 0)) (i32.const 8) (i32.const 1) (i32.const 32)))
    (loop $count
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $count (i32.lt_u (local.get $i) (i32.const 200000))))
    (call $check (call $read (i32.load (i32.const 0)) (i32.const 16) (i32.const 1) (i32.const 32)))
    (i32.store (i32.const 28) (i32.load (i32.const 32)))
    (call $check (call $write (i32.const 1) (i32.const 24) (i32.const 1) (i32.const 32)))
    (call $exit (i32.const 0))))
