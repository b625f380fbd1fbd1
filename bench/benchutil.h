/* Small measurement helpers shared by the C benchmark clients (bench/nna_fanout.c and
 * bench/raw_curl.c), so both measure time, CPU and memory the same way. */
#ifndef NNA_BENCHUTIL_H
#define NNA_BENCHUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <malloc.h>
#include <sys/resource.h>

#define BENCH_AGENT "11111111-1111-4111-8111-111111111111"
#define BENCH_KEY   "test-key"
#define BENCH_QUERY "Summarise this document"

/* Monotonic wall clock, seconds. */
static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time (user + system) of this process, seconds. */
static inline double bench_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Peak resident set size, KiB. */
static inline long bench_maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Current resident set size, KiB. */
static inline long bench_rss_kb(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Bytes the process has allocated with malloc and not freed (small blocks + mmapped
 * ones): exact, unlike RSS, which moves in pages and keeps freed memory. */
static inline double bench_heap(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (double)mi.uordblks + (double)mi.hblkhd;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The --mem fields of the JSON line (both C clients print the same ones):
 * bytes_per_queued      heap growth per operation submitted beyond the first `cap`
 * rss_bytes_per_queued  RSS growth per submitted operation
 * heap_per_inflight     median over completions cap+1 .. 4 cap of (heap - heap before
 *                       submitting - queued ops * bytes_per_queued) / cap: everything a
 *                       request in flight holds (operation, easy handle, buffers, connection)
 * heap_retained_per_op  (heap after the run - heap before) / N: what stays once all is done */
static inline void bench_print_mem(long rss_before, long rss_after, double heap_before,
                                   double heap_after, double heap_end, double per_queued, long n,
                                   double *samples, size_t ns)
{
    double inflight = -1;
    if (ns) {
        qsort(samples, ns, sizeof *samples, bench_cmp_double);
        inflight = samples[ns / 2];
    }
    printf(",\"rss_before_kb\":%ld,\"rss_after_kb\":%ld,\"heap_before\":%.0f,"
           "\"heap_after\":%.0f,\"heap_end\":%.0f,\"bytes_per_queued\":%.1f,"
           "\"rss_bytes_per_queued\":%.1f,\"heap_per_inflight\":%.1f,"
           "\"heap_retained_per_op\":%.1f",
           rss_before, rss_after, heap_before, heap_after, heap_end, per_queued,
           (double)(rss_after - rss_before) * 1024.0 / (double)n, inflight,
           (heap_end - heap_before) / (double)n);
}

/* "--name value" argument lookup; returns def when absent. */
static inline const char *bench_arg(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return def;
}

static inline int bench_flag(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0) return 1;
    return 0;
}
#endif
