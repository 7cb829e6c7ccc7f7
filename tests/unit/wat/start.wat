;; A start function that counts a global to 1000 (about 4 instructions a round), and an
;; export that reads it: the start function can run out of fuel part-way.
(module
  (global $g (mut i32) (i32.const 0))
  (func $start
    (loop $l
      (global.set $g (i32.add (global.get $g) (i32.const 1)))
      (br_if $l (i32.lt_u (global.get $g) (i32.const 1000)))))
  (start $start)
  (func (export "count") (result i32) (global.get $g)))
