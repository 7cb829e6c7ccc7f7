/* SPDX-License-Identifier: MIT */
/* json.h - a small JSON reader for the spec runner (wast2json output).
 *
 * Invariants:
 *  - The parser works in place: it decodes strings inside the caller's text buffer, which
 *    must outlive the document. Every decoded string is followed by a NUL byte, but may
 *    also contain NUL bytes itself (`\u0000`), so its length is authoritative.
 *  - Numbers are kept as their source text (not converted), so no precision is lost.
 *  - All nodes of a document come from one pool that json_doc_free() releases at once.
 */
#ifndef WAFT_TESTS_SPEC_JSON_H
#define WAFT_TESTS_SPEC_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum json_kind {
    JSON_NULL,
    JSON_BOOL,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
} json_kind;

typedef struct json_value json_value;
struct json_value {
    json_kind kind;
    int boolean;       /* JSON_BOOL: 0 or 1 */
    const char *key;   /* member name when the value sits in an object, else NULL */
    size_t key_len;    /* bytes of key */
    const char *str;   /* JSON_STRING: decoded bytes; JSON_NUMBER: source text */
    size_t len;        /* bytes of str */
    json_value *first; /* JSON_ARRAY/JSON_OBJECT: first element or member */
    json_value *next;  /* next sibling in the enclosing array or object */
    size_t count;      /* JSON_ARRAY/JSON_OBJECT: number of elements or members */
};

typedef struct json_chunk json_chunk;

typedef struct json_doc {
    json_value *root;
    json_chunk *chunks; /* node pool, newest first */
    size_t error_line;  /* 1-based line of a parse error */
    char error[128];    /* message of a parse error */
} json_doc;

/* Parses `len` bytes of `text` (modified in place; it must outlive the document) into
 * `doc`. Returns 0 on success; on failure returns -1 and leaves a message and a line number
 * in doc->error / doc->error_line. Call json_doc_free() in both cases. */
int json_parse(char *text, size_t len, json_doc *doc);

/* Releases the nodes of `doc` (not the text). Safe on a zeroed or failed document. */
void json_doc_free(json_doc *doc);

/* Member `key` of an object, or NULL if absent or if `object` is not an object. */
const json_value *json_member(const json_value *object, const char *key);

/* The member `key` of `object` if it is a string, else NULL. */
const json_value *json_member_string(const json_value *object, const char *key);

/* Non-zero if `value` is a string equal (byte-wise, whole length) to the C string `s`. */
int json_is(const json_value *value, const char *s);

/* Parses `len` bytes of unsigned decimal digits (no sign, no spaces) into *out. Returns 0,
 * or -1 if the text is empty, holds another character, or exceeds UINT64_MAX. */
int json_parse_u64(const char *text, size_t len, uint64_t *out);

#endif
