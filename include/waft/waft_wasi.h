/* SPDX-License-Identifier: MIT */
/* waft_wasi.h - public API of the WASI preview1 host (wasi_snapshot_preview1).
 *
 * A waft_wasi object is the whole WASI state of one guest: its arguments, environment,
 * preopened directories, open file descriptors, clocks and exit state. It provides host
 * functions for every import of module "wasi_snapshot_preview1" and is built on the public
 * API of <waft/waft.h> alone.
 *
 * Invariants of this interface:
 *  - The guest reaches the host file system only beneath its preopened directories:
 *    absolute paths, ".." past a directory descriptor and symbolic links that point out
 *    (also ones swapped in while a call runs) fail with ENOTCAPABLE.
 *  - Every guest pointer and length is checked against the calling instance's linear
 *    memory 0; a call whose arguments reach outside it returns EFAULT and has no effect.
 *  - Guest memory is little-endian on every host; no host struct is ever laid over it.
 *  - A blocking call (fd_read/fd_write on a pipe, terminal or socket, poll_oneoff,
 *    sock_accept, sock_recv) returns to the engine with WAFT_SUSPENDED when an interrupt
 *    is requested with waft_store_interrupt() while it waits; resuming the store issues
 *    the call again.
 *  - One waft_wasi belongs to one store and is used by one thread at a time (the thread
 *    that runs the store).
 */
#ifndef WAFT_WAFT_WASI_H
#define WAFT_WAFT_WASI_H

#include <waft/waft.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Name of the import module this host provides. */
#define WAFT_WASI_MODULE_NAME "wasi_snapshot_preview1"

typedef struct waft_wasi waft_wasi;

/* A directory the guest may use: `host_path` on the host is seen by the guest under the
 * name `guest_path` (e.g. "." or "/data"). Both strings are copied. */
typedef struct waft_wasi_preopen {
    const char *host_path;
    const char *guest_path;
} waft_wasi_preopen;

/* Flags of waft_wasi_config.flags. */
#define WAFT_WASI_NO_OPENAT2                                     \
    0x1u /* never use openat2(2): always walk paths component by \
            component (for tests of the portable sandbox) */

#define WAFT_WASI_TRUST_IMAGE_DIRS                                                    \
    0x2u /* at restore, reopen the preopened directories at the host paths the image  \
            names when none are configured (only for images you trust: an image could \
            otherwise pick its own sandbox) */

/* Configuration of a WASI instance. Start from waft_wasi_config_init(), which sets the
 * standard streams to the host's 0, 1 and 2 and everything else empty. All arrays and
 * strings are copied by waft_wasi_new(); host descriptors are duplicated (dup), so the
 * caller keeps and closes its own. */
typedef struct waft_wasi_config {
    uint32_t argc;           /* guest argv, argv[0] included (conventionally the program) */
    const char *const *argv; /* argc strings */
    uint32_t envc;           /* guest environment */
    const char *const *envp; /* envc strings "NAME=VALUE" */
    uint32_t npreopens;      /* preopened directories: guest fds 3, 4, ... in this order */
    const waft_wasi_preopen *preopens;
    int stdin_fd;       /* host fd behind guest fd 0, or -1 to leave it closed */
    int stdout_fd;      /* host fd behind guest fd 1, or -1 */
    int stderr_fd;      /* host fd behind guest fd 2, or -1 */
    uint32_t nsockets;  /* host sockets (listening or connected) given to the guest */
    const int *sockets; /* as the fds after the preopens, in this order */
    uint32_t flags;     /* WAFT_WASI_* flags */
} waft_wasi_config;

/* Fills *config with the defaults: stdio on host fds 0/1/2, no args, env, preopens or
 * sockets, no flags. */
WAFT_API void waft_wasi_config_init(waft_wasi_config *config);

/* Creates the WASI state of one guest that will run in `store` (borrowed; it must outlive
 * the waft_wasi). Opens every preopened directory now. Returns WAFT_OK, WAFT_ERR_NOMEM,
 * WAFT_ERR_INVALID_ARG (bad config: NULL strings, a string with an embedded problem, a
 * guest name that is empty), or WAFT_ERR_IO when a preopen cannot be opened as a
 * directory or a host descriptor cannot be duplicated; out_err (may be NULL) then names
 * the path and the system error. On failure *out_wasi is NULL. */
WAFT_API waft_result waft_wasi_new(waft_store *store, const waft_wasi_config *config,
                                   waft_wasi **out_wasi, waft_error *out_err);
/* (waft_wasi_new also registers the state as the store's "wasi" image record, so images
 * saved from the store carry it and restores rebuild it; see docs/checkpoint.md.) */

/* Closes every descriptor the guest still holds, takes the state's image record off the
 * store (waft_wasi_new registers it, see waft_snapshot.h) and frees the state. NULL is a
 * no-op. Call it before freeing the store; afterwards the guest must not run again: the
 * host functions this state made stay in the store and would call into freed memory. */
WAFT_API void waft_wasi_free(waft_wasi *wasi);

/* Resolves the WASI imports of `module` for instantiation in the wasi's store. `imports`
 * has one entry per import of the module (waft_module_import_count); every import whose
 * module name is "wasi_snapshot_preview1" gets a host function, every other entry is left
 * untouched for the caller. Host functions are created once per name and shared by later
 * calls. Returns WAFT_OK, WAFT_ERR_NOMEM, or WAFT_ERR_LINK when the module imports a name
 * that preview1 does not define, imports something other than a function, or uses a
 * function type other than preview1's; out_err (may be NULL) says which. */
WAFT_API waft_result waft_wasi_imports(waft_wasi *wasi, const waft_module *module,
                                       waft_extern *imports, waft_error *out_err);

/* Resolves import number `i` of `module` alone (see waft_wasi_imports). Returns
 * WAFT_ERR_NOT_FOUND, leaving *out untouched, if that import is not from
 * "wasi_snapshot_preview1". For hosts that chain several import providers. */
WAFT_API waft_result waft_wasi_import(waft_wasi *wasi, const waft_module *module, uint32_t i,
                                      waft_extern *out, waft_error *out_err);

/* Registers with `store` a reader of the "wasi" image record that decodes and checks it as
 * a restore does (every count, string, flag and descriptor; see docs/wasi.md) but opens
 * nothing and changes nothing: waft_image_restore into that store then fails, as a
 * restore would, on a record that restore refuses. For offline checkers such as `waft image
 * check`; the store must hold no waft_wasi (one "wasi" reader per store). Images cannot be
 * saved from it. Returns WAFT_OK, WAFT_ERR_INVALID_ARG (NULL, or a "wasi" reader already
 * registered) or WAFT_ERR_NOMEM. */
WAFT_API waft_result waft_wasi_register_check(waft_store *store);

/* Whether the guest called proc_exit: returns 1 and its exit code in *out_code (may be
 * NULL), or 0 when it has not. The run itself ends with WAFT_EXITED at that point. */
WAFT_API int waft_wasi_exit_code(const waft_wasi *wasi, int32_t *out_code);

#ifdef __cplusplus
}
#endif
#endif
