// SPDX-License-Identifier: MIT
/* sqlite_bench.c - bench workload: SQLite on a file database.
 *
 * In the current directory (a preopened directory under WASI), creates sqlite-bench.db
 * and runs a fixed mix: bulk inserts in transactions, an index build, point and range
 * queries, an aggregate, an update and a delete. Prints one line per step with a
 * checksum of what the step read, so every runtime's output can be compared with the
 * native build's. Linked with the SQLite amalgamation (see bench/run.py). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sqlite3.h"

#define ROWS        60000
#define BATCH       5000
#define POINT_QUERY 20000
#define RANGE_QUERY 600
#define KEY_SPACE   100000
#define DB_FILE     "sqlite-bench.db"

static uint32_t next(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

static void fail(sqlite3 *db, const char *what)
{
    fprintf(stderr, "sqlite_bench: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "sqlite_bench: %s: %s\n", sql, msg ? msg : "?");
        exit(1);
    }
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fail(db, sql);
    }
    return st;
}

static void step_done(sqlite3 *db, sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE) {
        fail(db, "step");
    }
    sqlite3_reset(st);
}

static void insert_rows(sqlite3 *db)
{
    sqlite3_stmt *st = prepare(db, "INSERT INTO item(id, k, name, score) VALUES (?, ?, ?, ?)");
    uint32_t state = 12345;
    char name[32];

    for (int id = 1; id <= ROWS; id++) {
        uint32_t k = next(&state) % KEY_SPACE;
        if (id % BATCH == 1) {
            exec(db, "BEGIN");
        }
        snprintf(name, sizeof name, "item-%u-%d", k, id % 97);
        sqlite3_bind_int(st, 1, id);
        sqlite3_bind_int(st, 2, (int)k);
        sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(st, 4, (double)(next(&state) % 10000) / 100.0);
        step_done(db, st);
        if (id % BATCH == 0 || id == ROWS) {
            exec(db, "COMMIT");
        }
    }
    sqlite3_finalize(st);
    printf("sqlite: inserted %d rows in batches of %d\n", ROWS, BATCH);
}

static void point_queries(sqlite3 *db)
{
    sqlite3_stmt *st = prepare(db, "SELECT name, score FROM item WHERE id = ?");
    uint32_t state = 777;
    uint64_t sum = 0;
    int found = 0;

    for (int i = 0; i < POINT_QUERY; i++) {
        sqlite3_bind_int(st, 1, (int)(next(&state) % (ROWS + 1000)));
        if (sqlite3_step(st) == SQLITE_ROW) {
            const unsigned char *name = sqlite3_column_text(st, 0);
            found++;
            for (; *name; name++) {
                sum = sum * 31u + *name;
            }
            sum += (uint64_t)(sqlite3_column_double(st, 1) * 100.0 + 0.5);
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    printf("sqlite: %d point queries, %d found, checksum %016llx\n", POINT_QUERY, found,
           (unsigned long long)sum);
}

static void range_queries(sqlite3 *db)
{
    sqlite3_stmt *st = prepare(db, "SELECT count(*), sum(id), min(name) FROM item "
                                   "WHERE k BETWEEN ? AND ? + 400");
    uint32_t state = 4242;
    uint64_t rows = 0, sum = 0;

    for (int i = 0; i < RANGE_QUERY; i++) {
        int lo = (int)(next(&state) % KEY_SPACE);
        sqlite3_bind_int(st, 1, lo);
        sqlite3_bind_int(st, 2, lo);
        if (sqlite3_step(st) != SQLITE_ROW) {
            fail(db, "range query");
        }
        rows += (uint64_t)sqlite3_column_int64(st, 0);
        sum = sum * 1099511628211u + (uint64_t)sqlite3_column_int64(st, 1);
        if (sqlite3_column_type(st, 2) == SQLITE_TEXT) {
            sum += (uint64_t)sqlite3_column_bytes(st, 2);
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    printf("sqlite: %d range queries, %llu rows, checksum %016llx\n", RANGE_QUERY,
           (unsigned long long)rows, (unsigned long long)sum);
}

static void aggregate(sqlite3 *db, const char *label)
{
    sqlite3_stmt *st = prepare(db, "SELECT k % 10, count(*), sum(score), max(length(name)) "
                                   "FROM item GROUP BY k % 10 ORDER BY 1");
    int64_t count = 0;
    double total = 0.0;
    uint64_t sum = 0;

    while (sqlite3_step(st) == SQLITE_ROW) {
        count += sqlite3_column_int64(st, 1);
        total += sqlite3_column_double(st, 2);
        sum = sum * 31u + (uint64_t)sqlite3_column_int64(st, 0) * 1000u +
              (uint64_t)sqlite3_column_int64(st, 3);
    }
    sqlite3_finalize(st);
    printf("sqlite: aggregate %s: %lld rows, score total %.2f, checksum %016llx\n", label,
           (long long)count, total, (unsigned long long)sum);
}

int main(void)
{
    sqlite3 *db = NULL;

    remove(DB_FILE);
    remove(DB_FILE "-journal");
    if (sqlite3_open(DB_FILE, &db) != SQLITE_OK) {
        fail(db, "open");
    }
    exec(db, "PRAGMA cache_size = -8000");
    exec(db, "CREATE TABLE item(id INTEGER PRIMARY KEY, k INTEGER, name TEXT, score REAL)");
    insert_rows(db);
    exec(db, "CREATE INDEX item_k ON item(k)");
    printf("sqlite: index built\n");
    point_queries(db);
    range_queries(db);
    aggregate(db, "before");
    exec(db, "BEGIN");
    exec(db, "UPDATE item SET score = score * 2 + 1 WHERE k % 3 = 0");
    printf("sqlite: update changed %d rows\n", sqlite3_changes(db));
    exec(db, "DELETE FROM item WHERE k % 7 = 0");
    printf("sqlite: delete removed %d rows\n", sqlite3_changes(db));
    exec(db, "COMMIT");
    aggregate(db, "after");
    sqlite3_close(db);
    remove(DB_FILE);
    return 0;
}
