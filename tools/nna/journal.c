/* nna: the batch journal — an append-only JSON-lines file next to the output.
 *
 *   {"j":"start","v":1,"t":<local start>,"input":"<hash>","lines":N,"wait":0|1}
 *   {"j":"task","l":LINE,"task_id":..,"agent_id":..,"status":..,"created_at":..,"rt":..,"r":0|1}
 *   {"j":"end","t":..}
 *
 * The start record is on disk (fdatasync) before the first run is sent; a task record is on
 * disk before the task is reported in the output. Records are written in groups: every
 * record produced during one turn of the loop goes out with one write and one fdatasync.
 * A crash can leave a half-written last record: journal_load cuts it off. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "batch.h"

struct journal {
    int    fd;
    char  *path;
    strbuf pending;
};

static int fsync_dir_of(const char *path)
{
    char *copy = xstrdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    free(copy);
    if (fd < 0) return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

journal *journal_open(const char *path, int truncate)
{
    struct stat sb;
    int existed = stat(path, &sb) == 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0644);
    if (fd < 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "cannot open the journal %s: %s", path, strerror(errno));
        report_error(NNA_EIO, 0, msg);
        return NULL;
    }
    /* A new file's directory entry must be durable too. */
    if (!existed) fsync_dir_of(path);
    journal *j = xcalloc(1, sizeof *j);
    j->fd = fd;
    j->path = xstrdup(path);
    return j;
}

static void add(journal *j, cJSON *rec)
{
    char *s = cJSON_PrintUnformatted(rec);
    cJSON_Delete(rec);
    if (!s || strbuf_puts(&j->pending, s) || strbuf_puts(&j->pending, "\n")) {
        fputs("{\"error\":\"out of memory\",\"status\":0}\n", stderr);
        exit(EXIT_NETWORK);
    }
    free(s);
}

void journal_start(journal *j, double t, const char *input_hash, size_t lines, int wait,
                   const fence_info *fence)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "j", "start");
    cJSON_AddNumberToObject(r, "v", 1);
    cJSON_AddNumberToObject(r, "t", t);
    cJSON_AddStringToObject(r, "input", input_hash);
    cJSON_AddNumberToObject(r, "lines", (double)lines);
    cJSON_AddNumberToObject(r, "wait", wait);
    if (fence && !isnan(fence->w0)) {
        cJSON *f = cJSON_AddObjectToObject(r, "fence");
        cJSON_AddNumberToObject(f, "w0", fence->w0);
        cJSON_AddItemToObject(f, "agents", cJSON_CreateStringArray((const char *const *)fence->agents, (int)fence->nagents));
        cJSON_AddItemToObject(f, "pre", cJSON_CreateStringArray((const char *const *)fence->pre, (int)fence->npre));
    }
    add(j, r);
}

/* ---- fences -------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void fence_free(fence_info *f)
{
    for (size_t i = 0; i < f->nagents; i++) free(f->agents[i]);
    for (size_t i = 0; i < f->npre; i++) free(f->pre[i]);
    free(f->agents);
    free(f->pre);
    memset(f, 0, sizeof *f);
    f->w0 = NAN;
}

int fence_has_agent(const fence_info *f, const char *agent)
{
    if (isnan(f->w0)) return 0;
    for (size_t i = 0; i < f->nagents; i++)
        if (strcmp(f->agents[i], agent) == 0) return 1;
    return 0;
}

int fence_has_task(const fence_info *f, const char *task_id)
{
    return f->npre && bsearch(&task_id, f->pre, f->npre, sizeof *f->pre, cmp_str) != NULL;
}

static char **strings(const cJSON *arr, size_t *n)
{
    *n = 0;
    size_t cap = (size_t)cJSON_GetArraySize(arr);
    char **out = xcalloc(cap + 1, sizeof *out);
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
        if (cJSON_IsString(it)) out[(*n)++] = xstrdup(it->valuestring);
    return out;
}

static void load_fence(const cJSON *r, fence_info *f)
{
    const cJSON *fj = cJSON_GetObjectItemCaseSensitive(r, "fence");
    const cJSON *w0 = cJSON_GetObjectItemCaseSensitive(fj, "w0");
    if (!cJSON_IsNumber(w0)) return;
    f->w0 = w0->valuedouble;
    f->agents = strings(cJSON_GetObjectItemCaseSensitive(fj, "agents"), &f->nagents);
    f->pre = strings(cJSON_GetObjectItemCaseSensitive(fj, "pre"), &f->npre);
    qsort(f->pre, f->npre, sizeof *f->pre, cmp_str);
}

void journal_task(journal *j, const jrec *t)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "j", "task");
    cJSON_AddNumberToObject(r, "l", (double)t->line);
    cJSON_AddStringToObject(r, "task_id", t->task_id);
    if (t->agent_id) cJSON_AddStringToObject(r, "agent_id", t->agent_id);
    if (t->status) cJSON_AddStringToObject(r, "status", t->status);
    if (isfinite(t->created_at)) cJSON_AddNumberToObject(r, "created_at", t->created_at);
    cJSON_AddNumberToObject(r, "rt", t->t_resp);
    cJSON_AddNumberToObject(r, "r", t->reconciled);
    add(j, r);
}

void journal_end(journal *j)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "j", "end");
    cJSON_AddNumberToObject(r, "t", wall_now());
    add(j, r);
}

int journal_sync(journal *j)
{
    if (!j || j->pending.len == 0) return 0;
    size_t off = 0;
    while (off < j->pending.len) {
        ssize_t n = write(j->fd, j->pending.p + off, j->pending.len - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            report_error(NNA_EIO, 0, strerror(errno));
            return -1;
        }
        off += (size_t)n;
    }
    j->pending.len = 0;
    if (fdatasync(j->fd) != 0) {
        report_error(NNA_EIO, 0, strerror(errno));
        return -1;
    }
    return 0;
}

void journal_close(journal *j)
{
    if (!j) return;
    close(j->fd);
    strbuf_free(&j->pending);
    free(j->path);
    free(j);
}

/* ---- loading ------------------------------------------------------------------------- */

static double num(const cJSON *o, const char *k, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
}

int journal_load(const char *path, journal_state *st)
{
    memset(st, 0, sizeof *st);
    st->first_start = NAN;
    st->fence.w0 = NAN;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 0;
        report_error(NNA_EIO, 0, strerror(errno));
        return -1;
    }
    struct stat sb;
    fstat(fd, &sb);
    st->exists = 1;
    st->mtime = (double)sb.st_mtim.tv_sec + sb.st_mtim.tv_nsec / 1e9;
    strbuf b = { 0 };
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0) strbuf_put(&b, chunk, (size_t)n);
    size_t good = 0;   /* bytes up to the end of the last complete record */
    size_t cap = 0;
    for (size_t pos = 0; pos < b.len;) {
        char *nl = memchr(b.p + pos, '\n', b.len - pos);
        if (!nl) break; /* a half-written last record */
        *nl = '\0';
        cJSON *r = cJSON_Parse(b.p + pos);
        pos = (size_t)(nl - b.p) + 1;
        good = pos;
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(r, "j");
        if (!cJSON_IsString(kind)) {
            cJSON_Delete(r);
            continue;
        }
        if (strcmp(kind->valuestring, "start") == 0) {
            if (isnan(st->first_start)) {
                st->first_start = num(r, "t", NAN);
                char *h = str(r, "input");
                snprintf(st->input_hash, sizeof st->input_hash, "%s", h ? h : "");
                free(h);
                st->lines = (size_t)num(r, "lines", 0);
                st->wait = num(r, "wait", 0) != 0;
                load_fence(r, &st->fence);
            }
            st->finished = 0;
        } else if (strcmp(kind->valuestring, "task") == 0) {
            jrec rec = {
                .line = (size_t)num(r, "l", 0), .task_id = str(r, "task_id"),
                .agent_id = str(r, "agent_id"), .status = str(r, "status"),
                .created_at = num(r, "created_at", NAN), .t_resp = num(r, "rt", NAN),
                .reconciled = num(r, "r", 0) != 0,
            };
            if (!rec.task_id || rec.line == 0) {
                free(rec.task_id);
                free(rec.agent_id);
                free(rec.status);
            } else {
                if (st->nrecs == cap) {
                    cap = cap ? cap * 2 : 256;
                    jrec *p = realloc(st->recs, cap * sizeof *p);
                    if (!p) exit(EXIT_NETWORK);
                    st->recs = p;
                }
                st->recs[st->nrecs++] = rec;
            }
        } else if (strcmp(kind->valuestring, "end") == 0) {
            st->finished = 1;
        }
        cJSON_Delete(r);
    }
    if (good < b.len && ftruncate(fd, (off_t)good) != 0) {
        report_error(NNA_EIO, 0, strerror(errno));
        strbuf_free(&b);
        close(fd);
        return -1;
    }
    strbuf_free(&b);
    close(fd);
    return 0;
}

void journal_state_free(journal_state *st)
{
    for (size_t i = 0; i < st->nrecs; i++) {
        free(st->recs[i].task_id);
        free(st->recs[i].agent_id);
        free(st->recs[i].status);
    }
    free(st->recs);
    fence_free(&st->fence);
    memset(st, 0, sizeof *st);
    st->fence.w0 = NAN;
}
