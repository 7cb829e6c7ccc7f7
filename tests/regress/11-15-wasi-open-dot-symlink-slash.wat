;; Two calls whose outcome differed from other runtimes; argv[1]'s first byte picks one and
;; the exit code is its errno (0: as expected).
;;  'o': path_open(3, 0, ".", 0, rights of fd 3, inheriting rights of fd 3) opens the
;;       directory itself; exits 99 if the new fd is not a directory.
;;  's': path_symlink("source", 3, "target/").
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink"
    (func $symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fdstat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  ;; 0: out fd, 32: fdstat of fd 3, 64: fdstat of the new fd, 128: argv, 256: argv strings
  (data (i32.const 512) ".")
  (data (i32.const 520) "source")
  (data (i32.const 540) "target/")
  (func $check (param $e i32)
    (if (local.get $e) (then (call $exit (local.get $e)))))
  (func (export "_start")
    (call $check (call $args_get (i32.const 128) (i32.const 256)))
    (if (i32.eq (i32.load8_u (i32.load (i32.const 132))) (i32.const 111)) ;; 'o'
      (then
        (call $check (call $fdstat (i32.const 3) (i32.const 32)))
        (call $check (call $open (i32.const 3) (i32.const 0) (i32.const 512) (i32.const 1)
          (i32.const 0) (i64.load (i32.const 40)) (i64.load (i32.const 48)) (i32.const 0)
          (i32.const 0)))
        (call $check (call $fdstat (i32.load (i32.const 0)) (i32.const 64)))
        (if (i32.ne (i32.load8_u (i32.const 64)) (i32.const 3)) (then (call $exit (i32.const 99))))
        (call $exit (i32.const 0))))
    (call $exit (call $symlink (i32.const 520) (i32.const 6) (i32.const 3) (i32.const 540)
      (i32.const 7)))))
