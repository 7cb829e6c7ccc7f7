;; Issue 17: prints "ready", then sleeps 4 s in poll_oneoff (one relative clock
;; subscription), then blocks reading stdin, and exits with 10 + the first byte read
;; (or 9 at the end of input).
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 6))
    (i64.store (i32.const 16) (i64.const 0x0a7964616572)) ;; "ready\n"
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    ;; subscription at 64: userdata 0, tag 0 (clock), id 1 (monotonic), 4 s, relative
    (i32.store8 (i32.const 72) (i32.const 0))
    (i32.store (i32.const 80) (i32.const 1))
    (i64.store (i32.const 88) (i64.const 4000000000))
    (drop (call $poll (i32.const 64) (i32.const 128) (i32.const 1) (i32.const 160)))
    ;; read one byte of stdin into 200
    (i32.store (i32.const 0) (i32.const 200))
    (i32.store (i32.const 4) (i32.const 1))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (if (i32.eqz (i32.load (i32.const 8)))
      (then (call $exit (i32.const 9))))
    (call $exit (i32.add (i32.const 10) (i32.load8_u (i32.const 200))))))
