/* How to look for the effect of each kind of non-idempotent write whose outcome is in
 * doubt (the strategies reconcile.c runs): which GET to walk, which listed object may be
 * the write's own, and what the write settles with when it adopts one (what its success
 * reply would have been). Pure functions over the server's JSON; fuzzed by
 * fuzz/fuzz_looks.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include "reconcile.h"

/* Lower-case, every space or control character folded to one space, trailing spaces and
 * (strip_ellipsis) a trailing ellipsis ("..." or U+2026) dropped. */
static size_t normalize(const char *s, char *out, size_t max, int strip_ellipsis)
{
    size_t n = 0;
    int space = 0;
    for (; *s && n + 1 < max; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch <= 0x20 || ch == 0x7f) {
            space = n > 0;
            continue;
        }
        if (space) out[n++] = ' ';
        space = 0;
        if (n + 1 < max) out[n++] = (char)(ch < 0x80 ? tolower(ch) : ch);
    }
    out[n] = '\0';
    if (strip_ellipsis) {
        for (;;) {
            if (n >= 3 && memcmp(out + n - 3, "\xe2\x80\xa6", 3) == 0) n -= 3;
            else if (n >= 1 && out[n - 1] == '.') n--;
            else break;
            while (n > 0 && out[n - 1] == ' ') n--;
            out[n] = '\0';
        }
    }
    return n;
}

/* The title is derived from the first user message: after normalizing, it must be a
 * prefix of the query (servers truncate; a trailing ellipsis may be added). A missing
 * title, or a run without a query (files only), is consistent with anything. */
int nna_look_title_consistent(const char *title, const char *query)
{
    if (!title || !*title || !query || !*query) return 1;
    char t[512], q[512];
    size_t tl = normalize(title, t, sizeof t, 1);
    size_t ql = normalize(query, q, sizeof q, 0);
    if (tl == 0) return 1;
    if (tl >= sizeof t - 1 && ql >= sizeof q - 1) return strncmp(t, q, sizeof t - 1) == 0;
    if (tl > ql) return 0;
    /* a UTF-8 sequence cut by the server at the end of the title */
    size_t cmp = tl;
    while (cmp > 0 && ((unsigned char)t[cmp - 1] & 0x80)) {
        if (((unsigned char)t[cmp - 1] & 0xC0) == 0xC0) { cmp--; break; }
        cmp--;
    }
    return memcmp(t, q, cmp) == 0;
}

int nna_look_text_equal(const char *a, const char *b)
{
    if (!a || !b) return 0;
    size_t la = strlen(a), lb = strlen(b);
    char *x = malloc(la + 1), *y = malloc(lb + 1);
    int eq = x && y && normalize(a, x, la + 1, 0) == normalize(b, y, lb + 1, 0) &&
             strcmp(x, y) == 0;
    free(x);
    free(y);
    return eq;
}

/* ---- the look for a run in doubt ------------------------------------------------------ */

static const char *run_key(const nna_op *op) { return op->group; /* the agent */ }

static void run_request(const char *agent, const char *after, nna_look_req *q)
{
    snprintf(q->path, sizeof q->path, "/tasks");
    const char *kv[] = { "agent_id", agent, "created_after", after, NULL };
    memcpy(q->kv, kv, sizeof kv);
    q->limit = 1;
}

static int run_fits(const cJSON *task, const nna_op *op)
{
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(task, "title");
    return nna_look_title_consistent(cJSON_IsString(title) ? title->valuestring : NULL,
                                      op->match_query);
}

/* The list item carries the run reply's fields (task_id, agent_id, status, created_at). */
static cJSON *run_adopt(const cJSON *task, const nna_op *op, char *fetch, size_t len)
{
    (void)op; (void)fetch; (void)len;
    return cJSON_Duplicate(task, 1);
}

const nna_look nna_look_run = {
    .what = "run creation", .claim_field = "task_id", .clock_from_reply = 1,
    .item_id = "task_id", .key = run_key, .request = run_request, .fits = run_fits,
    .adopt = run_adopt,
};

/* ---- the look for a message in doubt -------------------------------------------------- */

static const char *msg_key(const nna_op *op) { return op->group; /* the task */ }

static void msg_request(const char *task, const char *after, nna_look_req *q)
{
    (void)after; /* the log has no filters; a cursor is followed if the server sends one */
    snprintf(q->path, sizeof q->path, "/tasks/%s/messages", task);
}

/* content is "any JSON": a string, or an object or list of parts carrying the text. */
static const char *content_text(const cJSON *c)
{
    static const char *const fields[] = { "text", "content", "message", NULL };
    if (cJSON_IsString(c)) return c->valuestring;
    if (cJSON_IsObject(c)) {
        for (size_t i = 0; fields[i]; i++) {
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(c, fields[i]);
            if (cJSON_IsString(f)) return f->valuestring;
        }
    }
    if (cJSON_IsArray(c) && cJSON_GetArraySize(c) == 1) return content_text(c->child);
    return NULL;
}

/* Ours: a user message (user_id not null, role "user" if there is one) with our text. */
static int msg_fits(const cJSON *m, const nna_op *op)
{
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(m, "user_id");
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
    if (cJSON_IsNull(user)) return 0;
    if (cJSON_IsString(role) && strcmp(role->valuestring, "user") != 0) return 0;
    return nna_look_text_equal(content_text(cJSON_GetObjectItemCaseSensitive(m, "content")),
                               op->match_query);
}

/* What the send would have answered: the message's id and its task (no status: the log
 * does not say what it was at acceptance). */
static cJSON *msg_adopt(const cJSON *m, const nna_op *op, char *fetch, size_t len)
{
    (void)fetch; (void)len;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
    const cJSON *task = cJSON_GetObjectItemCaseSensitive(m, "task_id");
    cJSON *ack = cJSON_CreateObject();
    if (!ack || !cJSON_AddStringToObject(ack, "message_id", id->valuestring) ||
        !cJSON_AddStringToObject(ack, "task_id", cJSON_IsString(task) ? task->valuestring
                                                                       : op->group)) {
        cJSON_Delete(ack);
        return NULL;
    }
    return ack;
}

const nna_look nna_look_message = {
    .what = "sending a message", .claim_field = "message_id", .item_id = "id",
    .oldest_first = 1, .key = msg_key, .request = msg_request, .fits = msg_fits,
    .needs_created_at = 1, .adopt = msg_adopt,
};

/* ---- looks for a publish or a create in doubt ------------------------------------------ */

static const char *agent_key(const nna_op *op) { return op->group; /* the agent */ }
static const char *name_key(const nna_op *op) { return op->match_query; /* the name */ }

static void publish_request(const char *agent, const char *after, nna_look_req *q)
{
    (void)after; /* no filter: the walk stops at the first version before the window */
    snprintf(q->path, sizeof q->path, "/agents/%s/versions", agent);
    q->limit = 1;
}

/* A version made in the window, other than the one we published from; published, unless
 * the server leaves status out. */
static int publish_fits(const cJSON *v, const nna_op *op)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(v, "id");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(v, "status");
    if (cJSON_IsString(id) && strcasecmp(id->valuestring, op->group) == 0) return 0;
    return !cJSON_IsString(st) || strcmp(st->valuestring, "published") == 0;
}

/* The publish reply is that version's summary: the listed item itself. */
static cJSON *copy_item(const cJSON *v, const nna_op *op, char *fetch, size_t len)
{
    (void)op; (void)fetch; (void)len;
    return cJSON_Duplicate(v, 1);
}

const nna_look nna_look_publish = {
    .what = "publishing", .claim_field = "id", .clock_from_reply = 1, .item_id = "id",
    .newest_first_unfiltered = 1, .key = agent_key, .request = publish_request,
    .fits = publish_fits, .needs_created_at = 1, .adopt = copy_item,
};

static void create_request(const char *name, const char *after, nna_look_req *q)
{
    (void)after;
    snprintf(q->path, sizeof q->path, "/agents");
    const char *kv[] = { "q", name, NULL };
    memcpy(q->kv, kv, sizeof kv);
    q->limit = 1;
}

/* Names are unique in a workspace: the agent of exactly our name made in the window. */
static int create_fits(const cJSON *a, const nna_op *op)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(a, "name");
    return cJSON_IsString(name) && strcmp(name->valuestring, op->match_query) == 0;
}

/* The create reply is the full agent (with config): fetch it. */
static cJSON *create_adopt(const cJSON *a, const nna_op *op, char *fetch, size_t len)
{
    (void)op;
    snprintf(fetch, len, "/agents/%s",
             cJSON_GetObjectItemCaseSensitive(a, "id")->valuestring);
    return NULL;
}

const nna_look nna_look_create = {
    .what = "creating an agent", .claim_field = "id", .clock_from_reply = 1,
    .item_id = "id", .newest_first_unfiltered = 1, .key = name_key,
    .request = create_request, .fits = create_fits, .needs_created_at = 1,
    .adopt = create_adopt,
};
