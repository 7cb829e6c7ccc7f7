/* SPDX-License-Identifier: MIT */
/* waft_migrate.h - live migration of a running instance to another process or host.
 *
 * The source side sends a running store to a destination while the guest keeps running
 * (pre-copy of the pages it writes, tracked by the engine's write marks), then pauses it at
 * a safe point for the rest and its state. The destination side receives it into an
 * instance it prepared, and runs it once the source has committed. `waft serve`, `waft
 * migrate` and `waft run --migrate-to` are built on this header only; docs/migration.md
 * describes the protocol, the guarantees and the failure cases, docs/embedding.md how to
 * use it from a program.
 *
 * No global state: every call works on an object the caller owns. Keys need libcrypto:
 * in a build without it (CRYPTO=0), every call that is given a key fails with
 * WAFT_ERR_UNSUPPORTED and says so (waft_migration_have_keys() tells beforehand).
 *
 * For tests, the environment variables WAFT_TEST_CORRUPT_FRAME, WAFT_TEST_FORGE_FRAME,
 * WAFT_TEST_DIE_AT_FRAME and WAFT_TEST_PROTO_VERSION break connections on purpose
 * (docs/migration.md); they are read only to break things.
 */
#ifndef WAFT_MIGRATE_H
#define WAFT_MIGRATE_H

#include <waft/waft.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Keys and addresses ==== */

#define WAFT_MIGRATION_KEY_MAX 256u

/* A shared key: both sides prove it (HMAC-SHA256 challenge-response), and every frame after
 * the proofs carries a MAC. len 0 means no key. */
typedef struct waft_migration_key {
    uint8_t bytes[WAFT_MIGRATION_KEY_MAX];
    size_t len;
} waft_migration_key;

/* Whether this libwaft can use keys (it was built with libcrypto). Thread-safe. */
WAFT_API int waft_migration_have_keys(void);

/* Reads a key file: a regular file readable by its owner only, 16 to 256 bytes (a trailing
 * newline is dropped). Errors: WAFT_ERR_IO (cannot read, wrong mode or size),
 * WAFT_ERR_UNSUPPORTED (built without libcrypto); out_err (may be NULL) says why. */
WAFT_API waft_result waft_migration_key_load(const char *path, waft_migration_key *out_key,
                                             waft_error *out_err);

/* Splits "HOST:PORT" or "[V6]:PORT" into host and port (0-65535). 0, or -1 if malformed. */
WAFT_API int waft_migration_split_addr(const char *addr, char *host, size_t hostlen, char *port,
                                       size_t portlen);

/* Whether `host` names only loopback addresses (127.0.0.0/8, ::1, "localhost"). */
WAFT_API int waft_migration_is_loopback(const char *host);

/* Listens on HOST:PORT (port 0: any free one) with SO_REUSEADDR and close-on-exec. Returns
 * the socket, or -1 with a one-line reason in err[errlen]. */
WAFT_API int waft_migration_listen(const char *addr, char *err, size_t errlen);

/* Writes into out[cap] a whole ABORT frame carrying `why`, without a MAC, for a peer that
 * has not finished its handshake; it can be sent with one write(2), even from a signal
 * handler. Returns its length, or 0 if it does not fit. */
WAFT_API size_t waft_migration_abort_frame(const char *why, uint8_t *out, size_t cap);

/* ==== The source: sending a running instance ==== */

typedef struct waft_migration waft_migration;

/* Where a migration stands, as waft_migration_poll reports it. */
typedef enum waft_migration_state {
    WAFT_MIGRATION_RUNNING = 0, /* still going: resume the guest (waft_store_resume) */
    WAFT_MIGRATION_DONE,        /* the destination confirmed it runs the program: drop it
                                 * here (waft_store_abandon) */
    WAFT_MIGRATION_FAILED,      /* failed before the commit (or cancelled): the program is
                                 * whole here and goes on; the message says why */
    WAFT_MIGRATION_UNKNOWN,     /* the link broke after COMMIT was sent: the destination may
                                 * be running it. Do not resume: keep a full image
                                 * (waft_image_save) so nothing is lost, and stop */
    WAFT_MIGRATION_CANCELLED    /* abandoned by waft_migration_cancel before it ended */
} waft_migration_state;

/* A pre-copy round has ended (called on the sender thread, see waft_migration_options). */
typedef struct waft_migration_progress {
    uint32_t round;         /* rounds sent so far */
    uint64_t round_bytes;   /* bytes of memory sent in this round */
    uint64_t bytes_sent;    /* everything sent so far (frames included) */
    uint64_t dirty_pages;   /* 4 KiB pages written since they were sent */
    double dirty_rate;      /* bytes per second written by the guest, this round */
    double est_downtime_ms; /* the pause if it began now */
    int throttle;           /* percent of its time the guest is made to sleep */
} waft_migration_progress;

typedef void (*waft_migration_progress_fn)(void *user, const waft_migration_progress *p);

typedef struct waft_migration_options {
    const char *to;                /* HOST:PORT of the destination (a `waft serve`); copied */
    int stop_and_copy;             /* 1: pause first, then send everything (the baseline) */
    double max_downtime_ms;        /* pre-copy ends once the rest fits (0: 5) */
    uint32_t max_rounds;           /* at most this many pre-copy rounds (0: 30) */
    int address_order;             /* 1: send dirty pages by address, not coldest first */
    double timeout;                /* seconds the peer may stay silent, and the wait for a safe
                                    * point (0: 30) */
    const waft_migration_key *key; /* prove it and check the server's proof; copied */
    waft_migration_progress_fn progress; /* NULL, or called after every pre-copy round, on
                                          * the sender thread: it must not touch the store */
    void *progress_user;
} waft_migration_options;

/* Figures of a finished migration (waft_migration_stats). */
typedef struct waft_migration_stats {
    double downtime_ms; /* from the guest parked to DONE */
    double total_ms;    /* from the start to the end */
    uint64_t bytes_sent;
    uint32_t rounds;
    uint64_t pages_sent;
} waft_migration_stats;

/* Starts migrating `instance` of `store` to options->to, from the thread that runs the
 * guest, while its call is suspended (WAFT_SUSPENDED, e.g. after fuel ran out or an
 * interrupt): turns on write tracking of its memory and starts a sender thread, which
 * connects, authenticates and copies memory while the guest runs on. store and instance
 * are borrowed until waft_migration_free. With stop_and_copy, or when the memory may move
 * while it runs (waft_memory_fixed), the guest is paused at the next poll instead.
 * Errors: WAFT_ERR_INVALID_ARG, WAFT_ERR_NOMEM, WAFT_ERR_UNSUPPORTED (a key without
 * libcrypto), WAFT_ERR_STATE (the store runs no call); out_err says why. */
WAFT_API waft_result waft_migration_start(waft_store *store, const waft_instance *instance,
                                          const waft_migration_options *options,
                                          waft_migration **out_migration, waft_error *out_err);

/* The guest thread calls this right after waft_migration_start and at every suspension of
 * its call while the state is RUNNING (the sender interrupts the guest, with
 * waft_store_interrupt, whenever it needs it). When the sender asks for the pause, this
 * call parks the guest thread until the migration has ended. It also throttles a guest
 * that dirties memory faster than it can be sent. Returns the state; once it is not
 * RUNNING the sender thread has ended and write tracking is off. Guest thread only. */
WAFT_API waft_migration_state waft_migration_poll(waft_migration *migration);

/* Whether the sender waits for the guest to park: call waft_migration_poll again before
 * resuming the guest. Guest thread only. */
WAFT_API int waft_migration_pausing(waft_migration *migration);

/* The guest's call ended (or the caller gives up): stops the sender and waits for it.
 * Returns CANCELLED (the message is then `why`), or the state the migration had reached
 * on its own before (FAILED, with its reason). Guest thread only. */
WAFT_API waft_migration_state waft_migration_cancel(waft_migration *migration, const char *why);

/* One line: the outcome ("migrated to HOST:PORT: downtime ...") or the reason of the
 * failure. Valid until the next call on `migration`. */
WAFT_API const char *waft_migration_message(const waft_migration *migration);

/* Figures so far; complete once the state is not RUNNING. */
WAFT_API void waft_migration_stats_get(const waft_migration *migration,
                                       waft_migration_stats *out_stats);

/* Cancels if still running, then frees. NULL is fine. */
WAFT_API void waft_migration_free(waft_migration *migration);

/* ==== The destination: an incoming migration ==== */

typedef struct waft_migration_in waft_migration_in;

typedef struct waft_migration_in_options {
    const waft_migration_key *key; /* peers must prove it (NULL or len 0: no key); copied */
    double timeout;                /* seconds a peer may stay silent (0: 30) */
    const char *module_cache;      /* directory of modules named by their SHA-256, or NULL:
                                    * a module found there is not asked for, and a module
                                    * received is kept there */
} waft_migration_in_options;

/* Starts receiving on the connected socket `take_fd` (consumed: closed by
 * waft_migration_in_free, even if this call fails). Until the handshake is over, frames
 * larger than 4 KiB are refused. `engine` is borrowed until the free. The steps below go
 * in order; each returns WAFT_OK, or an error after which the peer has been told why (an
 * ABORT frame) and waft_migration_in_message() says it: the caller then discards
 * everything and frees. Not thread-safe: one thread per incoming migration. */
WAFT_API waft_result waft_migration_in_new(waft_engine *engine, int take_fd,
                                           const waft_migration_in_options *options,
                                           waft_migration_in **out_in);

/* HELLO, CHALLENGE, AUTH: versions and key proofs. After WAFT_OK the peer is authenticated
 * (or unkeyed on both sides) and larger frames are accepted. */
WAFT_API waft_result waft_migration_in_handshake(waft_migration_in *in);

/* Takes the module: from the cache, or asked of the peer; its hash is checked. The module
 * is the caller's (free it after the store that uses it). */
WAFT_API waft_result waft_migration_in_module(waft_migration_in *in, waft_module **out_module);

/* The caller has made `instance` in `store` with waft_instance_prepare (its imports linked
 * as they must be here): sends ACCEPT. Both are borrowed until the free. */
WAFT_API waft_result waft_migration_in_accept(waft_migration_in *in, waft_store *store,
                                              waft_instance *instance);

/* Receives the memory pages and the state, restores the state into the instance
 * (waft_image_restore_into), answers READY and waits for COMMIT. After WAFT_OK the source
 * has stopped for good: the instance is the caller's to run (waft_store_resume), and the
 * caller should confirm. */
WAFT_API waft_result waft_migration_in_receive(waft_migration_in *in);

/* Sends DONE and closes the connection (best effort: the program is ours either way). */
WAFT_API void waft_migration_in_confirm(waft_migration_in *in);

/* Refuses with a reason the peer receives in an ABORT frame (best effort). */
WAFT_API void waft_migration_in_refuse(waft_migration_in *in, const char *why);

/* The reason of the last failure ("" if none); valid until the next call on `in`. */
WAFT_API const char *waft_migration_in_message(const waft_migration_in *in);

/* Closes the connection and frees `in` (not the module, store or instance). NULL is fine. */
WAFT_API void waft_migration_in_free(waft_migration_in *in);

#ifdef __cplusplus
}
#endif

#endif
