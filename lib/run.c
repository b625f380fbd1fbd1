/* Run creation: POST /agents/{id}/run as JSON, or multipart/form-data when files are
 * attached (each streamed from disk as a `files` part; output_config as a JSON string
 * field). Marked NNA_OP_RUN with the run look, so the pipeline reconciles instead of
 * re-sending blindly: GET /tasks?agent_id=&created_after= for a task whose title fits the
 * query (looks.c, reconcile.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>
#include "nna/tasks.h"
#include "op.h"
#include "uuid.h"
#include "api_internal.h"
#include "reconcile.h" /* its look (looks.c) */

void nna_run_options_init(nna_run_options *o)
{
    memset(o, 0, sizeof *o);
    o->deadline = -1;
}

/* {"query":"<escaped>"} written directly: the common case needs no cJSON tree. */
static char *query_body(const char *q)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    for (const unsigned char *s = (const unsigned char *)q; *s; s++)
        n += *s == '"' || *s == '\\' ? 2 : *s < 0x20 ? 6 : 1;
    char *out = malloc(n + sizeof "{\"query\":\"\"}");
    if (!out) return NULL;
    char *p = out;
    memcpy(p, "{\"query\":\"", 10); p += 10;
    for (const unsigned char *s = (const unsigned char *)q; *s; s++) {
        if (*s == '"' || *s == '\\') { *p++ = '\\'; *p++ = (char)*s; }
        else if (*s < 0x20) { memcpy(p, "\\u00", 4); p[4] = hex[*s >> 4]; p[5] = hex[*s & 15]; p += 6; }
        else *p++ = (char)*s;
    }
    memcpy(p, "\"}", 3);
    return out;
}

/* output_config goes in as the caller wrote it (validated in check()): a cJSON round trip
 * would re-print its numbers. */
static char *json_body(const nna_run_options *o, nna_status *st)
{
    char *text = query_body(o->query);
    if (text && o->output_config_json)
        text = nna_json_splice(text, "output_config", o->output_config_json);
    if (!text) *st = NNA_ENOMEM;
    return text;
}

static nna_status check(const char *agent_id, const nna_run_options *o, const char **why)
{
    if (!nna_uuid_valid(agent_id)) { *why = "agent_id is not a UUID"; return NNA_EINVAL; }
    if (!o) { *why = "options missing"; return NNA_EINVAL; }
    if ((!o->query || !o->query[0]) && o->nfiles == 0) {
        *why = "a run needs a query or at least one file";
        return NNA_EINVAL;
    }
    for (size_t i = 0; i < o->nfiles; i++) {
        struct stat st;
        if (!o->files || !o->files[i] || stat(o->files[i], &st) != 0 || !S_ISREG(st.st_mode) ||
            access(o->files[i], R_OK) != 0) {
            *why = "a file to upload is missing or unreadable";
            return NNA_EINVAL;
        }
    }
    if (o->output_config_json && !nna_valid_json_object(o->output_config_json)) {
        *why = "output_config is not a JSON object";
        return NNA_EINVAL;
    }
    return NNA_OK;
}

nna_future *nna_agents_run(nna_client *c, const char *agent_id, const nna_run_options *o)
{
    if (!c) return NULL;
    const char *why = NULL;
    nna_status st = check(agent_id, o, &why);
    if (st != NNA_OK) return nna_client_failed(c, st, why);
    char path[80]; /* agent_id is a valid UUID: 36 characters */
    memcpy(path, "/agents/", 8);
    memcpy(path + 8, agent_id, 36);
    memcpy(path + 44, "/run", 5);
    nna_op_spec spec = {
        .method = "POST", .path = path, .kind = NNA_OP_RUN, .klass = NNA_CLASS_RUN,
        .parse = nna_parse_task, .group = agent_id, .match_query = o->query,
        .deadline = o->deadline, .look = &nna_look_run,
    };
    char *body = NULL;
    nna_form_part *parts = NULL;
    if (o->nfiles == 0) {
        body = json_body(o, &st);
        if (!body) return nna_client_failed(c, st, "could not encode the body");
        spec.body = body;
    } else {
        parts = calloc(o->nfiles + 2, sizeof *parts);
        if (!parts) return NULL;
        size_t n = 0;
        if (o->query && o->query[0]) parts[n++] = (nna_form_part){ "query", o->query, NULL, NULL };
        if (o->output_config_json)
            parts[n++] = (nna_form_part){ "output_config", o->output_config_json, NULL, NULL };
        for (size_t i = 0; i < o->nfiles; i++)
            parts[n++] = (nna_form_part){ "files", NULL, o->files[i], NULL };
        spec.parts = parts;
        spec.nparts = n;
    }
    nna_future *f = nna_op_submit(c, &spec);
    free(body);
    free(parts);
    return f;
}
