;; Counts to 200000 (a checkpoint is taken inside the loop), then creates "out.txt" in its
;; preopened directory (fd 3) and writes "hello\n" into it.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  ;; 0: out fd, 8: iovec {32, 6}, 16: written, 32: "hello\n", 48: "out.txt"
  (data (i32.const 8) "\20\00\00\00\06\00\00\00")
  (data (i32.const 32) "hello\n")
  (data (i32.const 48) "out.txt")
  (func $check (param $e i32)
    (if (local.get $e) (then (call $exit (local.get $e)))))
  (func (export "_start")
    (local $i i32)
    (loop $count
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $count (i32.lt_u (local.get $i) (i32.const 200000))))
    ;; oflags CREAT|TRUNC, rights FD_WRITE
    (call $check (call $open (i32.const 3) (i32.const 0) (i32.const 48) (i32.const 7)
      (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 0)))
    (call $check (call $write (i32.load (i32.const 0)) (i32.const 8) (i32.const 1)
      (i32.const 16)))
    (call $exit (i32.const 0))))
