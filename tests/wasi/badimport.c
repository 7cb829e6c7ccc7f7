/* SPDX-License-Identifier: MIT */
/* badimport.c - modules that must not link: built with -DBAD_NAME it imports a function
 * preview1 does not have, with -DBAD_TYPE it imports fd_write with the wrong type. run.sh
 * checks that `waft run` refuses them with one clear line (exit status 1).
 */
#include <stdint.h>

#if defined(BAD_NAME)
__attribute__((import_module("wasi_snapshot_preview1"), import_name("no_such_function"))) int32_t
imported(int32_t x);
#else
__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write"))) int64_t
imported(int32_t x);
#endif

void _start(void)
{
    imported(1);
}
