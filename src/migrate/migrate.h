/* SPDX-License-Identifier: MIT */
/* migrate.h - internal contract of src/migrate/: the live-migration wire protocol (proto.c)
 * shared by the source (send.c) and the destination (recv.c), behind the public
 * include/waft/waft_migrate.h. docs/migration.md describes it for people; this is the
 * contract for code.
 *
 * A connection is a sequence of frames, each
 *   | magic u32 'WFTM' | type u8 | flags u8 | 0 u16 | length u32 | crc u32 | payload |
 * little-endian, the CRC-32C covering the first 12 header bytes and the payload. A bad
 * magic, CRC, type or length ends the connection with an error; nothing in a frame is
 * trusted before its CRC is checked.
 *
 * Conversation (S = source, D = destination):
 *   S HELLO      proto version, image version, keyed, nonce_s, module hash and size
 *   D CHALLENGE  keyed, nonce_d, mac_d = HMAC(key, "waft-d" | nonce_s | nonce_d)
 *   S AUTH       mac_s = HMAC(key, "waft-s" | nonce_d | nonce_s)      (empty when unkeyed)
 *   D MODULE_REQ need (1: D lacks the module)
 *   S MODULE*    the module bytes, when asked
 *   D ACCEPT     the instance is prepared (or ABORT with the reason)
 *   S PAGES*     memory pages, in rounds, while the guest still runs (pre-copy); after
 *                each round SYNC, which D answers with SYNC_ACK once it has applied every
 *                page before it (so no backlog is left for the pause)
 *   S STATE*     the state image without memory contents (last one: flag LAST)
 *   D READY      restored and checked (or ABORT)
 *   S COMMIT     the source stops for good
 *   D DONE       the destination owns the instance and runs it
 * Either side may send ABORT (a one-line reason) instead of its next frame and close.
 * Before COMMIT, any failure leaves the source running; the destination discards.
 *
 * With a key, every frame after the key proofs also carries a MAC (mig_conn_key), so an
 * altered, injected, replayed or reordered frame is refused even with a valid CRC.
 *
 * Invariants: one thread uses a connection at a time; every call returns 0 or -1 with
 * conn->err set to a one-line reason.
 */
#ifndef WAFT_MIGRATE_INTERNAL_H
#define WAFT_MIGRATE_INTERNAL_H

#include <waft/waft_migrate.h>

#include "base/le.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define MIG_PROTO_VERSION 1u
#define MIG_HEAD          16u
#define MIG_MAX_PAYLOAD   (32u << 20)
#define MIG_NONCE         32u
#define MIG_MAC           32u
#define MIG_PAGE          4096u
#define MIG_PAGES_MAX     256u  /* pages per PAGES frame */
#define MIG_SMALL_PAYLOAD 4096u /* largest payload before the peer is accepted */

enum mig_type {
    MIG_HELLO = 1,
    MIG_CHALLENGE,
    MIG_AUTH,
    MIG_MODULE_REQ,
    MIG_MODULE,
    MIG_ACCEPT,
    MIG_PAGES,
    MIG_STATE,
    MIG_READY,
    MIG_COMMIT,
    MIG_DONE,
    MIG_ABORT,
    MIG_SYNC,     /* S: end of a pre-copy round */
    MIG_SYNC_ACK, /* D: every page before the SYNC is applied */
    MIG_TYPE_END_
};
#define MIG_FLAG_LAST 1u

typedef struct mig_conn {
    int fd;
    uint64_t bytes_out, bytes_in;
    uint64_t frames_out, frames_in;
    uint8_t *buf; /* the last frame received */
    size_t cap;
    /* fault injection for tests (environment, see docs/migration.md) */
    /* with a key, after the handshake: every frame carries HMAC-SHA256(session key, seq |
     * header | payload) after its payload, seq counting frames per direction */
    int keyed;
    uint8_t key_out[MIG_MAC], key_in[MIG_MAC]; /* one session key per direction */
    uint32_t max_in; /* largest payload accepted (small until the peer is trusted) */
    uint64_t seq_out, seq_in;
    uint64_t corrupt_frame; /* flip a payload byte of this outgoing frame (1-based), 0 = off */
    uint64_t forge_frame;   /* the same, with the CRC recomputed (only a MAC can tell) */
    uint64_t die_frame;     /* _exit(9) once this many frames have come in, 0 = off */
    char err[256];
} mig_conn;

/* A key for the challenge-response: raw bytes of a key file (len 0: no key). */
typedef waft_migration_key mig_key;

/* Reads a key file: at least 16 bytes (a trailing newline is dropped), not readable by group
 * or others. Returns 0, or -1 with a one-line reason in `err`. */
int mig_key_load(const char *path, mig_key *out, char *err, size_t errlen);
/* HMAC-SHA256(key, label | a | b) into out[32]; -1 if no crypto library was built in. */
int mig_mac(const mig_key *key, const char *label, const uint8_t *a, const uint8_t *b,
            uint8_t out[MIG_MAC]);
/* Turns on frame MACs for the rest of the connection. The session keys are
 * HMAC-SHA256(key, "waft-sd" | nonce_s | t) for frames from source to destination and
 * "waft-ds" for the other way, t being the SHA-256 of the HELLO and CHALLENGE payloads, so
 * the versions, hash and flags they carried are bound to the session. Both sides call it
 * right after the key proofs; `source` says which side this is. 0 or -1. */
int mig_conn_key(mig_conn *c, const mig_key *key, const uint8_t *nonce_s,
                 const uint8_t transcript[32], int source);
/* SHA-256 of the handshake's HELLO and CHALLENGE payloads (-1 without libcrypto). */
int mig_transcript(const uint8_t *hello, size_t hlen, const uint8_t *challenge, size_t clen,
                   uint8_t out[32]);
/* Constant-time comparison of two MACs: 1 when equal. */
int mig_mac_equal(const uint8_t *a, const uint8_t *b);
/* Whether this waft can authenticate (built with libcrypto). */
int mig_have_crypto(void);
/* NULL when keys work; otherwise `buf` holding why not (built without libcrypto, or it
 * cannot be loaded). */
const char *mig_crypto_why(char *buf, size_t cap);
/* Fills buf with random bytes (getrandom). */
int mig_random(uint8_t *buf, size_t n);

/* Splits "HOST:PORT" or "[V6]:PORT" into host and port (0-65535). 0 or -1. */
int mig_split_addr(const char *addr, char *host, size_t hostlen, char *port, size_t portlen);
/* Whether `host` names only loopback addresses (127.0.0.0/8, ::1, "localhost"). */
int mig_is_loopback(const char *host);
/* Connects to HOST:PORT within timeout_ms; sets TCP_NODELAY and send/receive timeouts.
 * Gives up early once *cancel (may be NULL) becomes non-zero. */
int mig_connect(mig_conn *c, const char *addr, int timeout_ms, atomic_int *cancel);
/* Listens on HOST:PORT; returns the socket or -1 with err. */
int mig_listen(const char *addr, char *err, size_t errlen);
/* Sets the send and receive timeout of a connected socket. */
void mig_set_timeout(int fd, int timeout_ms);
void mig_init(mig_conn *c, int fd);
void mig_close(mig_conn *c);

/* Sends one frame whose payload is the concatenation of iov[0..n). */
int mig_send(mig_conn *c, uint8_t type, uint8_t flags, const struct iovec *iov, int n);
int mig_send_buf(mig_conn *c, uint8_t type, uint8_t flags, const void *p, size_t len);
/* Writes into out[cap] a whole ABORT frame carrying `why`, without a MAC (for a peer that
 * has not finished the handshake), so that it can be sent with one write(2), even from a
 * signal handler. Returns its length, or 0 if it does not fit. */
size_t mig_abort_frame(const char *why, uint8_t *out, size_t cap);
/* Sends ABORT with a reason (best effort: errors are ignored). */
void mig_send_abort(mig_conn *c, const char *why);
/* Receives one frame into c->buf; *type, *flags, *len describe it. An ABORT from the peer
 * returns -1 with err "peer: REASON". */
int mig_recv(mig_conn *c, uint8_t *type, uint8_t *flags, uint32_t *len);
/* mig_recv that also requires the type. */
int mig_expect(mig_conn *c, uint8_t type, uint32_t *len);

/* Little-endian payload fields: base_load32/64 and base_store32/64 (base/le.h). */

/* HELLO payload layout. */
#define MIG_HELLO_SIZE (4 + 4 + 1 + MIG_NONCE + 32 + 8)
/* CHALLENGE payload layout. */
#define MIG_CHALLENGE_SIZE (4 + 1 + MIG_NONCE + MIG_MAC)
/* PAGES payload: mem u32, mem_pages u32 (64 KiB pages now), count u32, 0 u32, then count
 * u64 page numbers (4 KiB), then count * 4 KiB of data. */
#define MIG_PAGES_HEAD 16u

#endif
