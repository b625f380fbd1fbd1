/* nna-emu: streaming multipart/form-data for POST /agents/{id}/run.
 * File parts are counted (number, bytes) but never stored. */
#include "emu_internal.h"

#include <microhttpd.h>
#include <string.h>

#define EMU_MP_FIELD_MAX (1u << 20)

static enum MHD_Result mp_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *transfer_encoding, const char *data,
                               uint64_t off, size_t size)
{
    (void)kind;
    (void)content_type;
    (void)transfer_encoding;
    emu_req *r = cls;
    if (!key)
        return MHD_YES;
    int is_file = filename != NULL || !strcmp(key, "files") || !strcmp(key, "file");
    if (is_file) {
        if (off == 0) {
            r->mp_files++;
            if (!r->mp_first_name[0] && filename) {
                size_t n = strlen(filename);
                if (n >= sizeof r->mp_first_name)
                    n = sizeof r->mp_first_name - 1;
                memcpy(r->mp_first_name, filename, n);
                r->mp_first_name[n] = '\0';
            }
        }
        r->mp_bytes += size;
        if (r->mp_bytes > r->mp_limit) {
            r->mp_oversize = 1;
            return MHD_NO; /* stop parsing; the rest of the upload is discarded */
        }
        return MHD_YES;
    }
    sbuf *dst = NULL;
    if (!strcmp(key, "query")) {
        dst = &r->mp_query;
        r->mp_has_query = 1;
    } else if (!strcmp(key, "output_config")) {
        dst = &r->mp_outcfg;
        r->mp_has_outcfg = 1;
    }
    if (!dst)
        return MHD_YES;
    if (dst->len + size > EMU_MP_FIELD_MAX) {
        r->mp_field_too_large = 1;
        return MHD_NO;
    }
    if (size)
        sb_putn(dst, data, size);
    return MHD_YES;
}

int emu_mp_begin(emu_req *r, void *connection)
{
    r->multipart = 1;
    r->pp = MHD_create_post_processor((struct MHD_Connection *)connection, 65536, mp_iter, r);
    if (!r->pp) {
        r->mp_bad = 1;
        return -1;
    }
    return 0;
}

int emu_mp_feed(emu_req *r, const char *data, size_t n)
{
    if (!r->pp || r->mp_stopped)
        return 0;
    if (MHD_post_process((struct MHD_PostProcessor *)r->pp, data, n) != MHD_YES) {
        r->mp_stopped = 1;
        if (!r->mp_oversize && !r->mp_field_too_large)
            r->mp_bad = 1;
    }
    return 0;
}

void emu_mp_end(emu_req *r)
{
    if (!r->pp)
        return;
    if (MHD_destroy_post_processor((struct MHD_PostProcessor *)r->pp) != MHD_YES &&
        !r->mp_oversize && !r->mp_field_too_large && !r->mp_stopped)
        r->mp_bad = 1;
    r->pp = NULL;
}
