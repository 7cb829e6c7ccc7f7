;; Issue 11, defect 6: prints "ready" and spins forever. With a preopen (fd 3) it first
;; opens the file "f" from it until that fails (EMFILE under a low `ulimit -n`), so the
;; guest holds every descriptor the process may have.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "ready\n")
  (data (i32.const 32) "f")
  (func (export "_start")
    (block $full
      (loop $more
        (br_if $full
          (call $path_open (i32.const 3) (i32.const 0) (i32.const 32) (i32.const 1)
            (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 64)))
        (br $more)))
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 6))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (loop $spin (br $spin))))
