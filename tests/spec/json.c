/* SPDX-License-Identifier: MIT */
/* json.c - in-place JSON reader for the spec runner (see json.h for the invariants). */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_NODES 4096
#define MAX_DEPTH   64 /* wast2json nests 5 deep; bounds the recursion on bad input */

struct json_chunk {
    json_chunk *prev;
    size_t used;
    json_value nodes[CHUNK_NODES];
};

typedef struct parser {
    char *text;
    size_t pos;
    size_t len;
    int depth;
    json_doc *doc;
} parser;

static int fail(parser *p, const char *message)
{
    size_t line = 1;
    for (size_t i = 0; i < p->pos && i < p->len; i++) {
        if (p->text[i] == '\n') {
            line++;
        }
    }
    p->doc->error_line = line;
    snprintf(p->doc->error, sizeof p->doc->error, "%s", message);
    return -1;
}

static json_value *new_node(parser *p, json_kind kind)
{
    json_chunk *chunk = p->doc->chunks;
    if (chunk == NULL || chunk->used == CHUNK_NODES) {
        chunk = malloc(sizeof *chunk);
        if (chunk == NULL) {
            fail(p, "out of memory");
            return NULL;
        }
        chunk->prev = p->doc->chunks;
        chunk->used = 0;
        p->doc->chunks = chunk;
    }
    json_value *v = &chunk->nodes[chunk->used++];
    memset(v, 0, sizeof *v);
    v->kind = kind;
    return v;
}

static void skip_space(parser *p)
{
    while (p->pos < p->len) {
        char c = p->text[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            break;
        }
        p->pos++;
    }
}

static int peek(parser *p)
{
    return p->pos < p->len ? (unsigned char)p->text[p->pos] : -1;
}

static int hex4(parser *p, uint32_t *out)
{
    uint32_t v = 0;
    if (p->len - p->pos < 4) {
        return fail(p, "truncated \\u escape");
    }
    for (int i = 0; i < 4; i++) {
        char c = p->text[p->pos++];
        uint32_t d;
        if (c >= '0' && c <= '9') {
            d = (uint32_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = (uint32_t)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            d = (uint32_t)(c - 'A' + 10);
        } else {
            return fail(p, "bad hex digit in \\u escape");
        }
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

/* Writes code point `cp` as UTF-8 at `out` (at most 4 bytes); returns the byte count. Lone
 * surrogates are written as their 3-byte form: names are compared byte-wise anyway. */
static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the string that starts at the opening quote. The decoded bytes overwrite the
 * source from the opening quote on: they are never longer than the escapes they come from,
 * and the write position stays behind the read position, so the NUL terminator written at
 * the end lands at most on the closing quote. */
static int parse_string(parser *p, const char **out_str, size_t *out_len)
{
    char *start = p->text + p->pos;
    char *w = start;
    p->pos++; /* opening quote */
    for (;;) {
        if (p->pos >= p->len) {
            return fail(p, "unterminated string");
        }
        unsigned char c = (unsigned char)p->text[p->pos++];
        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            return fail(p, "control character in string");
        }
        if (c != '\\') {
            *w++ = (char)c;
            continue;
        }
        if (p->pos >= p->len) {
            return fail(p, "unterminated escape");
        }
        char e = p->text[p->pos++];
        switch (e) {
        case '"':
        case '\\':
        case '/':
            *w++ = e;
            break;
        case 'b':
            *w++ = '\b';
            break;
        case 'f':
            *w++ = '\f';
            break;
        case 'n':
            *w++ = '\n';
            break;
        case 'r':
            *w++ = '\r';
            break;
        case 't':
            *w++ = '\t';
            break;
        case 'u': {
            uint32_t cp;
            if (hex4(p, &cp) != 0) {
                return -1;
            }
            /* a high surrogate followed by an escaped low one is one code point */
            if (cp >= 0xD800 && cp < 0xDC00 && p->len - p->pos >= 6 && p->text[p->pos] == '\\' &&
                p->text[p->pos + 1] == 'u') {
                size_t save = p->pos;
                uint32_t low;
                p->pos += 2;
                if (hex4(p, &low) != 0) {
                    return -1;
                }
                if (low >= 0xDC00 && low < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                } else {
                    p->pos = save;
                }
            }
            w += put_utf8(w, cp);
            break;
        }
        default:
            return fail(p, "unknown escape in string");
        }
    }
    *w = '\0';
    *out_str = start;
    *out_len = (size_t)(w - start);
    return 0;
}

static int parse_value(parser *p, json_value **out);

static int parse_number(parser *p, json_value *v)
{
    size_t start = p->pos;
    while (p->pos < p->len) {
        char c = p->text[p->pos];
        if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E')) {
            break;
        }
        p->pos++;
    }
    v->str = p->text + start;
    v->len = p->pos - start;
    return 0;
}

static int parse_word(parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0) {
        return fail(p, "unexpected character");
    }
    p->pos += n;
    return 0;
}

/* Parses the elements of an array or the members of an object (opening bracket consumed). */
static int parse_children(parser *p, json_value *parent, int object)
{
    char close = object ? '}' : ']';
    json_value **tail = &parent->first;
    skip_space(p);
    if (peek(p) == close) {
        p->pos++;
        return 0;
    }
    for (;;) {
        const char *key = NULL;
        size_t key_len = 0;
        json_value *child;
        skip_space(p);
        if (object) {
            if (peek(p) != '"') {
                return fail(p, "expected a member name");
            }
            if (parse_string(p, &key, &key_len) != 0) {
                return -1;
            }
            skip_space(p);
            if (peek(p) != ':') {
                return fail(p, "expected ':'");
            }
            p->pos++;
        }
        if (parse_value(p, &child) != 0) {
            return -1;
        }
        child->key = key;
        child->key_len = key_len;
        *tail = child;
        tail = &child->next;
        parent->count++;
        skip_space(p);
        int c = peek(p);
        p->pos++;
        if (c == close) {
            return 0;
        }
        if (c != ',') {
            p->pos--;
            return fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
}

static int parse_value(parser *p, json_value **out)
{
    json_value *v = NULL;
    int r = 0;
    skip_space(p);
    int c = peek(p);
    switch (c) {
    case '{':
    case '[':
        if (++p->depth > MAX_DEPTH) {
            return fail(p, "nested too deeply");
        }
        v = new_node(p, c == '{' ? JSON_OBJECT : JSON_ARRAY);
        if (v == NULL) {
            return -1;
        }
        p->pos++;
        r = parse_children(p, v, c == '{');
        p->depth--;
        break;
    case '"':
        v = new_node(p, JSON_STRING);
        if (v == NULL) {
            return -1;
        }
        r = parse_string(p, &v->str, &v->len);
        break;
    case 't':
    case 'f':
        v = new_node(p, JSON_BOOL);
        if (v == NULL) {
            return -1;
        }
        v->boolean = c == 't';
        r = parse_word(p, c == 't' ? "true" : "false");
        break;
    case 'n':
        v = new_node(p, JSON_NULL);
        if (v == NULL) {
            return -1;
        }
        r = parse_word(p, "null");
        break;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            v = new_node(p, JSON_NUMBER);
            if (v == NULL) {
                return -1;
            }
            r = parse_number(p, v);
        } else {
            return fail(p, c < 0 ? "unexpected end of input" : "unexpected character");
        }
        break;
    }
    *out = v;
    return r;
}

int json_parse(char *text, size_t len, json_doc *doc)
{
    parser p = { text, 0, len, 0, doc };
    memset(doc, 0, sizeof *doc);
    if (parse_value(&p, &doc->root) != 0) {
        doc->root = NULL;
        return -1;
    }
    skip_space(&p);
    if (p.pos != p.len) {
        doc->root = NULL;
        return fail(&p, "trailing characters after the document");
    }
    return 0;
}

void json_doc_free(json_doc *doc)
{
    json_chunk *chunk = doc->chunks;
    while (chunk != NULL) {
        json_chunk *prev = chunk->prev;
        free(chunk);
        chunk = prev;
    }
    doc->chunks = NULL;
    doc->root = NULL;
}

const json_value *json_member(const json_value *object, const char *key)
{
    if (object == NULL || object->kind != JSON_OBJECT) {
        return NULL;
    }
    size_t n = strlen(key);
    for (const json_value *m = object->first; m != NULL; m = m->next) {
        if (m->key_len == n && memcmp(m->key, key, n) == 0) {
            return m;
        }
    }
    return NULL;
}

const json_value *json_member_string(const json_value *object, const char *key)
{
    const json_value *v = json_member(object, key);
    return v != NULL && v->kind == JSON_STRING ? v : NULL;
}

int json_is(const json_value *value, const char *s)
{
    size_t n = strlen(s);
    return value != NULL && value->kind == JSON_STRING && value->len == n &&
           memcmp(value->str, s, n) == 0;
}

int json_parse_u64(const char *text, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c < '0' || c > '9') {
            return -1;
        }
        uint64_t d = (uint64_t)(c - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}
