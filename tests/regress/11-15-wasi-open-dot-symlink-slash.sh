# Issue 11, defect 15: two WASI calls behaved unlike other runtimes (and Linux itself).
# path_open of "." with the directory's own rights (which include FD_DATASYNC, taken as a
# wish to write) failed with EISDIR instead of opening the directory; path_symlink to a
# name with a trailing slash made a dangling link "target" where Linux answers ENOENT (or
# EEXIST when the name exists). Both resolvers (openat2 and the portable walk) are checked.
wat 11-15-wasi-open-dot-symlink-slash.wat m.wasm
for walk in "" 1; do
    mode=${walk:+the path walk}
    mode=${mode:-openat2}
    rm -rf d
    mkdir d
    expect_status 0 env ${walk:+WAFT_WASI_NO_OPENAT2=1} "$waft" run --dir d m.wasm open
    expect_status 44 env ${walk:+WAFT_WASI_NO_OPENAT2=1} "$waft" run --dir d m.wasm symlink
    [[ ! -e d/target && ! -L d/target ]] || fail "$mode: path_symlink to 'target/' made d/target"
    mkdir d/target
    expect_status 20 env ${walk:+WAFT_WASI_NO_OPENAT2=1} "$waft" run --dir d m.wasm symlink
    [[ -d d/target && ! -L d/target ]] || fail "$mode: d/target is no longer the directory"
done
