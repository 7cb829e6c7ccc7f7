;; A path of "x/" repeated (argv[1] = its length, 4095 or 4096 bytes: only the first
;; `len` bytes are used) given to path_open and to path_filestat_get under preopen fd 3;
;; the exit code is their errno when both agree, else 99. Linux's own limit (PATH_MAX counts the NUL) makes 4096 bytes ENAMETOOLONG (37), and
;; 4095 bytes (a missing "x") ENOENT (44).
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get"
    (func $stat (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  ;; 0: out fd, 64: filestat, 128: argv, 256: argv strings, 1024: the path
  (func (export "_start")
    (local $i i32) (local $len i32) (local $p i32) (local $a i32) (local $b i32)
    (drop (call $args_get (i32.const 128) (i32.const 256)))
    ;; decimal argv[1]
    (local.set $p (i32.load (i32.const 132)))
    (block $done
      (loop $digits
        (br_if $done (i32.eqz (i32.load8_u (local.get $p))))
        (local.set $len (i32.add (i32.mul (local.get $len) (i32.const 10))
          (i32.sub (i32.load8_u (local.get $p)) (i32.const 48))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $digits)))
    (loop $fill
      (i32.store16 (i32.add (i32.const 1024) (local.get $i)) (i32.const 0x2f78)) ;; "x/"
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br_if $fill (i32.lt_u (local.get $i) (local.get $len))))
    (local.set $a (call $open (i32.const 3) (i32.const 0) (i32.const 1024) (local.get $len)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 0)))
    (local.set $b (call $stat (i32.const 3) (i32.const 0) (i32.const 1024) (local.get $len)
      (i32.const 64)))
    (if (i32.ne (local.get $a) (local.get $b)) (then (call $exit (i32.const 99))))
    (call $exit (local.get $a))))
