# Issue 11, defect 14 (path length): a 4096-byte guest path gave ENAMETOOLONG through
# openat2 (the kernel's PATH_MAX counts the NUL) but ENOENT through the portable walk
# (WAFT_WASI_NO_OPENAT2=1), which allowed 4096 bytes. Both resolvers must give the same
# answer: ENAMETOOLONG (37) from 4096 bytes on, the lookup's own error (ENOENT, 44) below.
wat 11-14-path-length-resolvers.wat m.wasm
mkdir d
for walk in "" 1; do
    mode=${walk:+the path walk}
    mode=${mode:-openat2}
    for len_want in 4095:44 4096:37 4098:37; do
        len=${len_want%:*}
        want=${len_want#*:}
        env ${walk:+WAFT_WASI_NO_OPENAT2=1} "$waft" run --dir d m.wasm "$len" >out.txt 2>err.txt
        status=$?
        [[ $status == "$want" ]] ||
            fail "$mode: a $len-byte path gave status $status, expected $want (99: path_open and path_filestat_get differ)"
    done
done
