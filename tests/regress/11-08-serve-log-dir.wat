;; Issue 11, defects 8 and 9: prints "before" on stdout, counts to 2,000,000 (iterations
;; given as the i32 at byte 200, 2,000,000 unless changed), then prints "after" on stdout
;; and "after-err" on stderr.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "before\n")
  (data (i32.const 120) "after\n")
  (data (i32.const 140) "after-err\n")
  (data (i32.const 200) "\80\84\1e\00")
  (func $say (param $fd i32) (param $at i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $at))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start") (local $i i32)
    (call $say (i32.const 1) (i32.const 100) (i32.const 7))
    (loop $count
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $count (i32.lt_u (local.get $i) (i32.load (i32.const 200)))))
    (call $say (i32.const 1) (i32.const 120) (i32.const 6))
    (call $say (i32.const 2) (i32.const 140) (i32.const 10))))
