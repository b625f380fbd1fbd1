/* nna batch: reading the input — streamed in chunks, hashed as it goes (the journal ties a
 * resumed batch to the same input), split into lines, one job per non-blank line.
 *
 * Every non-blank line gets exactly one output line: a line with a NUL byte or longer than
 * BATCH_LINE_MAX is a job marked invalid (its bytes beyond the limit are never kept, so a
 * huge line costs no memory), never skipped. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "batch.h"

typedef struct reader {
    batch   *b;
    size_t   cap;        /* jobs allocated */
    size_t   lineno;     /* physical lines seen */
    strbuf   line;       /* the current line, up to BATCH_LINE_MAX bytes */
    size_t   line_len;   /* its full length */
    int      has_nul;
    uint64_t hash;       /* FNV-1a 64 of every byte */
} reader;

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}

static job *new_job(reader *r)
{
    batch *b = r->b;
    if (b->njobs == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        job *p = realloc(b->jobs, r->cap * sizeof *p);
        if (!p) exit(EXIT_NETWORK);
        b->jobs = p;
    }
    job *j = &b->jobs[b->njobs++];
    memset(j, 0, sizeof *j);
    j->b = b;
    j->line = r->lineno;
    j->created_at = NAN;
    return j;
}

static void end_line(reader *r)
{
    r->lineno++;
    const char *s = r->line.p ? r->line.p : "";
    if (r->line_len > BATCH_LINE_MAX) {
        job_set_invalid(new_job(r), "the line is longer than the limit of 1 MiB (1048576 bytes)");
    } else if (r->has_nul) {
        job_set_invalid(new_job(r), "the line contains a NUL byte");
    } else if (!blank(s, r->line_len)) {
        job_parse(new_job(r), s);
    }
    r->line.len = 0;
    if (r->line.p) r->line.p[0] = '\0';
    r->line_len = 0;
    r->has_nul = 0;
}

static void feed(reader *r, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        r->hash ^= (unsigned char)p[i];
        r->hash *= 1099511628211ULL;
    }
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t k = nl ? (size_t)(nl - p) : n;
        if (memchr(p, '\0', k)) r->has_nul = 1;
        size_t room = r->line_len < BATCH_LINE_MAX + 1 ? BATCH_LINE_MAX + 1 - r->line_len : 0;
        if (strbuf_put(&r->line, p, k < room ? k : room)) exit(EXIT_NETWORK);
        r->line_len += k;
        if (!nl) return;
        end_line(r);
        p += k + 1;
        n -= k + 1;
    }
}

int batch_read_input(batch *b, const char *path, char hash[24], size_t *physical_lines)
{
    int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    reader r = { .b = b, .hash = 1469598103934665603ULL };
    static char chunk[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(fd, chunk, sizeof chunk)) != 0) {
        if (n < 0) {
            if (errno == EINTR) continue;
            rc = -1;
            break;
        }
        feed(&r, chunk, (size_t)n);
    }
    int err = errno;
    if (rc == 0 && (r.line_len > 0 || r.has_nul)) end_line(&r); /* no final newline */
    if (fd != 0) close(fd);
    strbuf_free(&r.line);
    snprintf(hash, 24, "%016llx", (unsigned long long)r.hash);
    *physical_lines = r.lineno;
    errno = err;
    return rc;
}
