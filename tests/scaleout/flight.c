/* The scale-out CLI tests' view of the emulator (see flight.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flight.h"

typedef struct edge { double t; int d; } edge;

static int edge_cmp(const void *a, const void *b)
{
    const edge *x = a, *y = b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    return x->d - y->d; /* an end before a start at the same instant */
}

void emu_flight_get(const emu_proc *e, emu_flight *f)
{
    memset(f, 0, sizeof *f);
    cJSON *log = emu_ctl(e, "GET", "/_emu/log?limit=100000", NULL);
    cJSON *data = cJSON_GetObjectItem(log, "data");
    int n = cJSON_GetArraySize(data);
    edge *ev = calloc((size_t)n * 2 + 1, sizeof *ev);
    ck_assert_ptr_nonnull(ev);
    double lo = 0, hi = 0;
    int k = 0;
    cJSON *it;
    cJSON_ArrayForEach(it, data) {
        double t = cJSON_GetObjectItem(it, "t")->valuedouble;
        double lat = cJSON_GetObjectItem(it, "latency_ms")->valuedouble / 1000;
        if (cJSON_GetObjectItem(it, "status")->valueint == 429) f->rate_limited++;
        /* t is whole milliseconds: a request sent right after another's answer could
         * seem to overlap it by up to 1 ms; overlaps that short are not counted */
        ev[k++] = (edge){ t - lat + 0.0015, 1 };
        ev[k++] = (edge){ t, -1 };
        if (k == 2 || t - lat < lo) lo = t - lat;
        if (t > hi) hi = t;
    }
    qsort(ev, (size_t)k, sizeof *ev, edge_cmp);
    int cur = 0;
    for (int i = 0; i < k; i++) {
        cur += ev[i].d;
        if (cur > f->max_inflight) f->max_inflight = cur;
    }
    f->requests = n;
    f->span = hi - lo;
    free(ev);
    cJSON_Delete(log);
}

void write_runs(const char *path, const char *tag, int n)
{
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    for (int i = 0; i < n; i++)
        fprintf(fp, "{\"id\":\"%s-%d\",\"agent_id\":\"" AGENT_1 "\",\"query\":\"%s run %d\"}\n",
                tag, i, tag, i);
    fclose(fp);
}
