;; sock_accept and sock_recv on standard input, which the case makes a pipe that stays
;; open and empty: both must answer ENOTSOCK (57) at once instead of waiting for data.
;; The exit code is the errno of the call chosen by argv[1]'s first byte: 'a' accept,
;; 'r' recv.
(module
  (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_recv"
    (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  ;; 0: out fd, 16: iovec {64, 16}, 32: recv out len, 36: out flags, 128: argv, 256: strings
  (data (i32.const 16) "\40\00\00\00\10\00\00\00")
  (func (export "_start")
    (drop (call $args_get (i32.const 128) (i32.const 256)))
    (if (i32.eq (i32.load8_u (i32.load (i32.const 132))) (i32.const 97))
      (then (call $exit (call $accept (i32.const 0) (i32.const 0) (i32.const 0)))))
    (call $exit (call $recv (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 0)
      (i32.const 32) (i32.const 36)))))
