/* nna-emu: generated reply bodies for scripts ("stream"): huge, endless or trickling
 * bodies streamed from a content reader, never allocated, so a test can send a client
 * 256 MB or an endless body, or one byte a second, at no memory cost here. */
#include "emu_internal.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

typedef struct emu_stream {
    nna_emu        *e;
    emu_req        *r;
    void           *conn;
    emu_stream_spec sp;       /* strings owned */
    int64_t         next_ns;  /* trickle: when the next chunk may go */
} emu_stream;

void emu_stream_spec_free(emu_stream_spec *sp)
{
    if (!sp)
        return;
    free(sp->prefix);
    free(sp->fill);
    free(sp->suffix);
    free(sp);
}

static char *str_field(const cJSON *o, const char *name, const char *def, size_t *len,
                       int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (v && !cJSON_IsString(v)) {
        *bad = 1;
        return NULL;
    }
    const char *s = v ? v->valuestring : def;
    *len = strlen(s);
    char *out = malloc(*len + 1);
    if (out)
        memcpy(out, s, *len + 1);
    else
        *bad = 1;
    return out;
}

static int num_field(const cJSON *o, const char *name, double max, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > max)
        return -1;
    *out = v->valuedouble;
    return 0;
}

emu_stream_spec *emu_stream_parse(const cJSON *o, char *err, size_t errlen)
{
    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "stream must be an object");
        return NULL;
    }
    emu_stream_spec *sp = calloc(1, sizeof *sp);
    if (!sp) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int bad = 0;
    sp->prefix = str_field(o, "prefix", "", &sp->plen, &bad);
    sp->fill = str_field(o, "fill", "x", &sp->flen, &bad);
    sp->suffix = str_field(o, "suffix", "", &sp->slen, &bad);
    if (bad || sp->flen == 0) {
        snprintf(err, errlen, "stream prefix, fill and suffix must be strings, fill non-empty");
        goto fail;
    }
    double bytes = 0, chunk = 0, every = 0;
    if (num_field(o, "bytes", 1e15, &bytes) || num_field(o, "chunk", 1 << 20, &chunk) ||
        num_field(o, "interval_ms", 600000, &every)) {
        snprintf(err, errlen, "stream bytes (0 = endless), chunk (<= 1 MiB) and interval_ms "
                 "(<= 600000) must be non-negative numbers");
        goto fail;
    }
    sp->bytes = (uint64_t)bytes;
    if (sp->bytes && sp->bytes < sp->plen + sp->slen) {
        snprintf(err, errlen, "stream bytes must hold prefix and suffix");
        goto fail;
    }
    sp->chunk = (size_t)chunk;
    sp->interval_ms = (unsigned)every;
    sp->chunked = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "chunked"));
    return sp;
fail:
    emu_stream_spec_free(sp);
    return NULL;
}

/* Byte `pos` of the body. */
static char byte_at(const emu_stream_spec *sp, uint64_t pos)
{
    if (pos < sp->plen)
        return sp->prefix[pos];
    if (sp->bytes && pos >= sp->bytes - sp->slen)
        return sp->suffix[pos - (sp->bytes - sp->slen)];
    return sp->fill[(pos - sp->plen) % sp->flen];
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    emu_stream *s = cls;
    const emu_stream_spec *sp = &s->sp;
    if (s->r->aborted)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (sp->bytes && pos >= sp->bytes)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (sp->interval_ms) {
        int64_t now = emu_mono_ns();
        if (now < s->next_ns) /* not yet: sleep without a busy loop */
            return emu_server_resume_at(s->e, s->r, s->conn, s->next_ns) == 0
                       ? 0 : MHD_CONTENT_READER_END_WITH_ERROR;
        s->next_ns = now + (int64_t)sp->interval_ms * 1000000;
    }
    size_t n = max;
    if (sp->chunk && n > sp->chunk)
        n = sp->chunk;
    if (sp->bytes && n > sp->bytes - pos)
        n = (size_t)(sp->bytes - pos);
    size_t i = 0;
    /* The middle of the body is the fill pattern: copy it in runs. */
    for (; i < n && pos + i < sp->plen; i++)
        buf[i] = sp->prefix[pos + i];
    uint64_t fill_end = sp->bytes ? sp->bytes - sp->slen : UINT64_MAX;
    while (i < n && pos + i < fill_end) {
        size_t off = (size_t)((pos + i - sp->plen) % sp->flen);
        size_t run = sp->flen - off;
        if (run > n - i)
            run = n - i;
        if (pos + i + run > fill_end)
            run = (size_t)(fill_end - (pos + i));
        memcpy(buf + i, sp->fill + off, run);
        i += run;
    }
    for (; i < n; i++)
        buf[i] = byte_at(sp, pos + i);
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    emu_stream *s = cls;
    free(s->sp.prefix);
    free(s->sp.fill);
    free(s->sp.suffix);
    free(s);
}

static char *dup_n(const char *p, size_t n)
{
    char *o = malloc(n + 1);
    if (o)
        memcpy(o, p, n + 1);
    return o;
}

struct MHD_Response *emu_stream_response(nna_emu *e, emu_req *r, void *conn,
                                         const emu_stream_spec *sp)
{
    emu_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->e = e;
    s->r = r;
    s->conn = conn;
    s->sp = *sp;
    s->sp.prefix = dup_n(sp->prefix, sp->plen);
    s->sp.fill = dup_n(sp->fill, sp->flen);
    s->sp.suffix = dup_n(sp->suffix, sp->slen);
    if (!s->sp.prefix || !s->sp.fill || !s->sp.suffix) {
        stream_free(s);
        return NULL;
    }
    uint64_t size = sp->bytes && !sp->chunked ? sp->bytes : MHD_SIZE_UNKNOWN;
    struct MHD_Response *resp = MHD_create_response_from_callback(size, 16384, reader, s,
                                                                  stream_free);
    if (!resp)
        stream_free(s);
    return resp;
}
