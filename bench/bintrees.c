// SPDX-License-Identifier: MIT
/* bintrees.c - bench workload: allocation and pointer chasing.
 *
 * Builds one long-lived complete binary tree of depth MAX_DEPTH, then many short-lived
 * trees of growing depth (each built with malloc, walked, freed); prints the node counts
 * and a checksum of the walks. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MIN_DEPTH 4
#define MAX_DEPTH 18

struct node {
    struct node *left, *right;
    int32_t value;
};

static struct node *build(int depth, int32_t value)
{
    struct node *n = malloc(sizeof(*n));

    if (n == NULL) {
        exit(1);
    }
    n->value = value;
    if (depth > 0) {
        n->left = build(depth - 1, 2 * value - 1);
        n->right = build(depth - 1, 2 * value);
    } else {
        n->left = n->right = NULL;
    }
    return n;
}

/* walk returns the number of nodes and adds their values, alternately signed by level. */
static int64_t walk(const struct node *n, int64_t *sum, int level)
{
    if (n == NULL) {
        return 0;
    }
    *sum += (level & 1) ? -(int64_t)n->value : (int64_t)n->value;
    return 1 + walk(n->left, sum, level + 1) + walk(n->right, sum, level + 1);
}

static void release(struct node *n)
{
    if (n != NULL) {
        release(n->left);
        release(n->right);
        free(n);
    }
}

int main(void)
{
    int64_t sum = 0, nodes;
    struct node *keep = build(MAX_DEPTH, 1);

    for (int depth = MIN_DEPTH; depth <= MAX_DEPTH; depth += 2) {
        int iterations = 1 << (MAX_DEPTH - depth + MIN_DEPTH - 2);
        int64_t count = 0;
        for (int i = 1; i <= iterations; i++) {
            struct node *t = build(depth, i);
            count += walk(t, &sum, 0);
            release(t);
        }
        printf("bintrees: %d trees of depth %d: %lld nodes\n", iterations, depth, (long long)count);
    }
    nodes = walk(keep, &sum, 0);
    release(keep);
    printf("bintrees: long-lived tree of depth %d: %lld nodes, checksum %lld\n", MAX_DEPTH,
           (long long)nodes, (long long)sum);
    return 0;
}
