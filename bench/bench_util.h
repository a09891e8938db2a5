/* What every bench needs: a monotonic clock, a comparison for qsort of
 * samples (medians and percentiles are taken from the sorted array), and
 * the lines of a server's stdout. */
#ifndef BERTH_BENCH_UTIL_H
#define BERTH_BENCH_UTIL_H

#include <string.h>
#include <time.h>

static inline double bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A server's stdout as it is read: the caller reads into buf + have (at
 * most sizeof buf - have bytes) and adds what it got to have. */
typedef struct {
    char buf[65536];
    size_t have;
} bench_lines_t;

/* The first complete line (without its newline, NUL-terminated) into
 * LINE, which holds sizeof buf: its length, or -1 when none is complete. */
static inline long bench_take_line(bench_lines_t *b, char *line)
{
    char *nl = memchr(b->buf, '\n', b->have);
    if (!nl)
        return -1;
    size_t n = (size_t)(nl - b->buf);
    memcpy(line, b->buf, n);
    line[n] = '\0';
    b->have -= n + 1;
    memmove(b->buf, nl + 1, b->have);
    return (long)n;
}

#endif
