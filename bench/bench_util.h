/* What every bench needs: a monotonic clock and a comparison for qsort of
 * samples (medians and percentiles are taken from the sorted array). */
#ifndef BERTH_BENCH_UTIL_H
#define BERTH_BENCH_UTIL_H

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

#endif
