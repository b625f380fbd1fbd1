/* Tests of nna-emu: real HTTP over loopback against an in-process emulator on an
 * ephemeral port (plus one test that spawns the nna-emu binary). */
#define _GNU_SOURCE 1
#include "emu.h"

#include <check.h>
#include <cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static nna_emu *E;
static char BASE[64];

#define A1 NNA_EMU_AGENT_1
#define A2 NNA_EMU_AGENT_2
#define A3 NNA_EMU_AGENT_3
#define KEY NNA_EMU_DEFAULT_KEY

/* ------------------------------------------------------------ helpers */
typedef struct resp {
    long   status;
    int    curl_rc;
    char  *body;
    size_t len;
    char   hdrs[8192];
    size_t hlen;
    double secs;
} resp;

static size_t wr_cb(char *p, size_t sz, size_t n, void *ud)
{
    resp *r = ud;
    size_t k = sz * n;
    char *nb = realloc(r->body, r->len + k + 1);
    ck_assert_ptr_nonnull(nb);
    r->body = nb;
    memcpy(r->body + r->len, p, k);
    r->len += k;
    r->body[r->len] = '\0';
    return k;
}

static size_t hdr_cb(char *p, size_t sz, size_t n, void *ud)
{
    resp *r = ud;
    size_t k = sz * n;
    if (r->hlen + k < sizeof r->hdrs) {
        memcpy(r->hdrs + r->hlen, p, k);
        r->hlen += k;
        r->hdrs[r->hlen] = '\0';
    }
    return k;
}

static void resp_free(resp *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Performs a request; headers_extra may be NULL. */
static void req_full(const char *method, const char *path, const char *key, const char *auth_raw,
                     const char *body, curl_mime *mime, resp *out)
{
    memset(out, 0, sizeof *out);
    CURL *c = curl_easy_init();
    ck_assert_ptr_nonnull(c);
    char url[2048];
    snprintf(url, sizeof url, "%s%s", BASE, path);
    struct curl_slist *h = NULL;
    char ah[512];
    if (auth_raw) {
        snprintf(ah, sizeof ah, "Authorization: %s", auth_raw);
        h = curl_slist_append(h, ah);
    } else if (key) {
        snprintf(ah, sizeof ah, "Authorization: Bearer %s", key);
        h = curl_slist_append(h, ah);
    }
    if (body)
        h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    if (mime)
        curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, wr_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, hdr_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    double t0 = now_s();
    out->curl_rc = (int)curl_easy_perform(c);
    out->secs = now_s() - t0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static void req(const char *method, const char *path, const char *body, resp *out)
{
    req_full(method, path, KEY, NULL, body, NULL, out);
}

static const char *hdr(resp *r, const char *name, char *buf, size_t buflen)
{
    size_t nl = strlen(name);
    const char *p = r->hdrs;
    while ((p = strcasestr(p, name)) != NULL) {
        if ((p == r->hdrs || p[-1] == '\n') && p[nl] == ':') {
            p += nl + 1;
            while (*p == ' ')
                p++;
            size_t l = strcspn(p, "\r\n");
            if (l >= buflen)
                l = buflen - 1;
            memcpy(buf, p, l);
            buf[l] = '\0';
            return buf;
        }
        p += nl;
    }
    return NULL;
}

static cJSON *J(resp *r)
{
    cJSON *j = cJSON_Parse(r->body ? r->body : "");
    ck_assert_msg(j != NULL, "body is not JSON: %s", r->body ? r->body : "(null)");
    return j;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* status + JSON error envelope with application/json */
static void expect_error(resp *r, long status)
{
    char ct[128];
    ck_assert_msg(r->status == status, "expected %ld got %ld: %s", status, r->status, r->body ? r->body : "");
    ck_assert_ptr_nonnull(hdr(r, "Content-Type", ct, sizeof ct));
    ck_assert_msg(strstr(ct, "application/json") != NULL, "content-type %s", ct);
    cJSON *j = J(r);
    ck_assert_ptr_nonnull(jstr(j, "error"));
    cJSON_Delete(j);
}

static void expect_error_msg(resp *r, long status, const char *msg)
{
    expect_error(r, status);
    cJSON *j = J(r);
    ck_assert_str_eq(jstr(j, "error"), msg);
    cJSON_Delete(j);
}

static int ctl(const char *method, const char *path, const char *body, cJSON **out)
{
    char *resp = NULL;
    int st = nna_emu_control(E, method, path, body, &resp);
    if (out)
        *out = resp ? cJSON_Parse(resp) : NULL;
    free(resp);
    return st;
}

static void set_cfg(const char *json)
{
    ck_assert_int_eq(ctl("POST", "/_emu/config", json, NULL), 200);
}

/* creates a run and returns its task id (caller frees) */
static char *run_task(const char *agent, const char *query)
{
    char path[128], body[1024];
    snprintf(path, sizeof path, "/api/v1/agents/%s/run", agent);
    snprintf(body, sizeof body, "{\"query\":\"%s\"}", query);
    resp r;
    req("POST", path, body, &r);
    ck_assert_msg(r.status == 200, "run: %ld %s", r.status, r.body ? r.body : "");
    cJSON *j = J(&r);
    char *id = strdup(jstr(j, "task_id"));
    cJSON_Delete(j);
    resp_free(&r);
    return id;
}

static char *task_status(const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/tasks/%s", id);
    resp r;
    req("GET", path, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    cJSON *j = J(&r);
    char *s = strdup(jstr(j, "status"));
    cJSON_Delete(j);
    resp_free(&r);
    return s;
}

static int wait_status(const char *id, const char *want, double timeout)
{
    double t0 = now_s();
    while (now_s() - t0 < timeout) {
        char *s = task_status(id);
        int ok = strcmp(s, want) == 0;
        free(s);
        if (ok)
            return 1;
        usleep(20000);
    }
    return 0;
}

static long counter(const char *key)
{
    cJSON *j;
    ck_assert_int_eq(ctl("GET", "/_emu/counters", NULL, &j), 200);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    long n = cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
    cJSON_Delete(j);
    return n;
}

static void start_with(const char *config_json, int control)
{
    nna_emu_options o;
    nna_emu_options_init(&o);
    o.port = 0;
    o.quiet = 1;
    o.seed = 42;
    o.control = control;
    o.config_json = config_json;
    ck_assert_int_eq(nna_emu_start(&o, &E), 0);
    ck_assert_int_gt(nna_emu_port(E), 0);
    snprintf(BASE, sizeof BASE, "http://127.0.0.1:%u", (unsigned)nna_emu_port(E));
}

static void setup(void) { start_with(NULL, 1); }

static void teardown(void)
{
    nna_emu_stop(E);
    E = NULL;
}

/* ------------------------------------------------------------- tests */
START_TEST(test_run_and_get)
{
    resp r;
    req("POST", "/api/v1/agents/" A1 "/run", "{\"query\":\"Pull the line items out of this order.\"}", &r);
    ck_assert_int_eq(r.status, 200);
    char ct[128];
    ck_assert_ptr_nonnull(hdr(&r, "Content-Type", ct, sizeof ct));
    ck_assert_str_eq(ct, "application/json");
    ck_assert_ptr_nonnull(hdr(&r, "Date", ct, sizeof ct));
    cJSON *j = J(&r);
    ck_assert_str_eq(jstr(j, "agent_id"), A1);
    ck_assert_str_eq(jstr(j, "status"), "pending");
    ck_assert_ptr_nonnull(jstr(j, "message"));
    const char *ca = jstr(j, "created_at");
    ck_assert_int_eq((int)strlen(ca), 20);
    ck_assert_int_eq(ca[19], 'Z');
    char *id = strdup(jstr(j, "task_id"));
    ck_assert_int_eq((int)strlen(id), 36);
    cJSON_Delete(j);
    resp_free(&r);

    char path[128];
    snprintf(path, sizeof path, "/api/v1/tasks/%s", id);
    req("GET", path, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    j = J(&r);
    ck_assert_str_eq(jstr(j, "task_id"), id);
    ck_assert_str_eq(jstr(j, "title"), "Pull the line items out of this order.");
    ck_assert_ptr_nonnull(jstr(j, "updated_at"));
    cJSON_Delete(j);
    resp_free(&r);

    /* summary before completion has no result */
    snprintf(path, sizeof path, "/api/v1/tasks/%s/summary", id);
    req("GET", path, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    j = J(&r);
    ck_assert_ptr_null(cJSON_GetObjectItem(j, "result"));
    cJSON_Delete(j);
    resp_free(&r);

    ck_assert(wait_status(id, "running", 2) || wait_status(id, "completed", 2));
    ck_assert(wait_status(id, "completed", 3));
    req("GET", path, NULL, &r);
    j = J(&r);
    const cJSON *res = cJSON_GetObjectItem(j, "result");
    ck_assert(cJSON_IsObject(res));
    ck_assert_ptr_nonnull(jstr(res, "summary"));
    ck_assert_ptr_nonnull(jstr(res, "completed_at"));
    ck_assert_ptr_null(cJSON_GetObjectItem(res, "extracted_data"));
    ck_assert_str_eq(jstr(j, "status"), "completed");
    cJSON_Delete(j);
    resp_free(&r);

    /* result feed ends with task_complete */
    snprintf(path, sizeof path, "/api/v1/tasks/%s/result", id);
    req("GET", path, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    j = J(&r);
    const cJSON *feed = cJSON_GetObjectItem(j, "feed");
    ck_assert(cJSON_IsArray(feed));
    const cJSON *last = cJSON_GetArrayItem(feed, cJSON_GetArraySize(feed) - 1);
    ck_assert_str_eq(jstr(last, "type"), "task_complete");
    ck_assert(cJSON_IsObject(cJSON_GetObjectItem(last, "result")));
    cJSON_Delete(j);
    resp_free(&r);

    /* messages: oldest first, user then assistant, not paginated */
    snprintf(path, sizeof path, "/api/v1/tasks/%s/messages", id);
    req("GET", path, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    j = J(&r);
    const cJSON *d = cJSON_GetObjectItem(j, "data");
    ck_assert_int_eq(cJSON_GetArraySize(d), 2);
    ck_assert_ptr_null(cJSON_GetObjectItem(j, "has_more"));
    ck_assert(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 0), "user_id")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 1), "user_id")));
    cJSON_Delete(j);
    resp_free(&r);

    /* output_config -> extracted_data inside result */
    req("POST", "/api/v1/agents/" A1 "/run",
        "{\"query\":\"x\",\"output_config\":{\"output_schema\":\"{\\\"a\\\":\\\"string\\\"}\",\"instructions\":\"y\"}}", &r);
    ck_assert_int_eq(r.status, 200);
    j = J(&r);
    char *id2 = strdup(jstr(j, "task_id"));
    cJSON_Delete(j);
    resp_free(&r);
    ck_assert(wait_status(id2, "completed", 3));
    snprintf(path, sizeof path, "/api/v1/tasks/%s/summary", id2);
    req("GET", path, NULL, &r);
    j = J(&r);
    ck_assert(cJSON_IsObject(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "result"), "extracted_data")));
    cJSON_Delete(j);
    resp_free(&r);
    free(id);
    free(id2);
}
END_TEST

START_TEST(test_auth)
{
    resp r;
    req_full("GET", "/api/v1/tasks", NULL, NULL, NULL, NULL, &r);
    expect_error(&r, 401);
    resp_free(&r);
    const char *bad[] = {"Basic dGVzdDp0ZXN0", "Bearer", "Bearer ", "bearer test-key", "Bearer nope", "test-key"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        req_full("GET", "/api/v1/tasks", NULL, bad[i], NULL, NULL, &r);
        expect_error(&r, 401);
        resp_free(&r);
    }
    req_full("GET", "/api/v1/tasks", NULL, "Bearer test-key", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    req_full("GET", "/api/v1/agents", "other-key", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    cJSON *j = J(&r);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "data")), 1);
    cJSON_Delete(j);
    resp_free(&r);
}
END_TEST

START_TEST(test_cross_workspace)
{
    char *id = run_task(A1, "mine");
    char path[128];
    resp r;
    snprintf(path, sizeof path, "/api/v1/tasks/%s", id);
    req_full("GET", path, "other-key", NULL, NULL, NULL, &r);
    expect_error(&r, 404);
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/tasks/%s/cancel", id);
    req_full("POST", path, "other-key", NULL, NULL, NULL, &r);
    expect_error(&r, 403);
    resp_free(&r);
    req("POST", "/api/v1/agents/" NNA_EMU_OTHER_AGENT "/run", "{\"query\":\"q\"}", &r);
    expect_error(&r, 404);
    resp_free(&r);
    req("GET", "/api/v1/agents/" NNA_EMU_OTHER_AGENT, NULL, &r);
    expect_error(&r, 404);
    resp_free(&r);

    set_cfg("{\"cross_workspace\": 403}");
    snprintf(path, sizeof path, "/api/v1/tasks/%s/summary", id);
    req_full("GET", path, "other-key", NULL, NULL, NULL, &r);
    expect_error(&r, 403);
    resp_free(&r);
    req("POST", "/api/v1/agents/" NNA_EMU_OTHER_AGENT "/run", "{\"query\":\"q\"}", &r);
    expect_error(&r, 403);
    resp_free(&r);
    req("PATCH", "/api/v1/agents/" NNA_EMU_OTHER_AGENT, "{}", &r);
    expect_error(&r, 403);
    resp_free(&r);
    /* listing never shows the other workspace's tasks */
    req_full("GET", "/api/v1/tasks", "other-key", NULL, NULL, NULL, &r);
    cJSON *j = J(&r);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "data")), 0);
    cJSON_Delete(j);
    resp_free(&r);
    /* unknown ids stay 404 */
    req("GET", "/api/v1/tasks/00000000-0000-4000-8000-000000000000", NULL, &r);
    expect_error(&r, 404);
    resp_free(&r);
    free(id);
}
END_TEST

START_TEST(test_validation)
{
    resp r;
    req("GET", "/api/v1/tasks/not-a-uuid", NULL, &r);
    expect_error_msg(&r, 400, "Invalid task_id format");
    resp_free(&r);
    req("GET", "/api/v1/tasks/11111111-1111-4111-8111-11111111111Z/summary", NULL, &r);
    expect_error_msg(&r, 400, "Invalid task_id format");
    resp_free(&r);
    req("POST", "/api/v1/agents/xyz/run", "{\"query\":\"a\"}", &r);
    expect_error_msg(&r, 400, "Invalid agent_id format");
    resp_free(&r);
    req("GET", "/api/v1/agents/1234/versions", NULL, &r);
    expect_error_msg(&r, 400, "Invalid agent_id format");
    resp_free(&r);
    req("GET", "/api/v1/tasks?agent_id=bad", NULL, &r);
    expect_error_msg(&r, 400, "Invalid agent_id format");
    resp_free(&r);
    const char *lims[] = {"0", "101", "abc", "1.5", "-1", "", "1e2"};
    for (size_t i = 0; i < sizeof lims / sizeof lims[0]; i++) {
        char p[64];
        snprintf(p, sizeof p, "/api/v1/tasks?limit=%s", lims[i]);
        req("GET", p, NULL, &r);
        expect_error(&r, 400);
        resp_free(&r);
        snprintf(p, sizeof p, "/api/v1/agents?limit=%s", lims[i]);
        req("GET", p, NULL, &r);
        expect_error(&r, 400);
        resp_free(&r);
    }
    req("GET", "/api/v1/tasks?limit=100", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    req("GET", "/api/v1/tasks?limit=1", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    req("GET", "/api/v1/tasks?cursor=garbage", NULL, &r);
    expect_error_msg(&r, 400, "Invalid cursor");
    resp_free(&r);
    req("GET", "/api/v1/agents?cursor=c1%3AAAAA", NULL, &r);
    expect_error_msg(&r, 400, "Invalid cursor");
    resp_free(&r);
    req("GET", "/api/v1/tasks?status=running,bogus", NULL, &r);
    expect_error(&r, 400);
    resp_free(&r);
    req("GET", "/api/v1/agents?status=live", NULL, &r);
    expect_error(&r, 400);
    resp_free(&r);
    req("GET", "/api/v1/tasks?created_after=yesterday", NULL, &r);
    expect_error(&r, 400);
    resp_free(&r);
    req("GET", "/api/v1/tasks?created_before=2026-13-01T00:00:00Z", NULL, &r);
    expect_error(&r, 400);
    resp_free(&r);
    const char *bodies[] = {"[1,2]", "\"q\"", "{bad json", "{}", "{\"query\":\"\"}", "{\"query\":5}",
                            "{\"query\":\"a\",\"output_config\":\"str\"}",
                            "{\"query\":\"a\",\"output_config\":{\"output_schema\":5}}"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        req("POST", "/api/v1/agents/" A1 "/run", bodies[i], &r);
        expect_error(&r, 400);
        resp_free(&r);
    }
    req("POST", "/api/v1/agents/" A1 "/run", NULL, &r);
    expect_error(&r, 400);
    resp_free(&r);
    req("POST", "/api/v1/agents/" A3 "/run", "{\"query\":\"a\"}", &r);
    expect_error(&r, 403);
    resp_free(&r);
    req("POST", "/api/v1/agents/00000000-0000-4000-8000-000000000000/run", "{\"query\":\"a\"}", &r);
    expect_error(&r, 404);
    resp_free(&r);
    req("POST", "/api/v1/agents", "[]", &r);
    expect_error(&r, 400);
    resp_free(&r);
    req("POST", "/api/v1/agents", "{\"name\":5}", &r);
    expect_error(&r, 400);
    resp_free(&r);
    /* upper-case UUIDs are accepted */
    req("GET", "/api/v1/agents/" "11111111-1111-4111-8111-11111111111A", NULL, &r);
    expect_error(&r, 404);
    resp_free(&r);
    ck_assert_int_eq(counter("tasks_created"), 0);
}
END_TEST

START_TEST(test_routes)
{
    resp r;
    req("GET", "/api/v1/nothing", NULL, &r);
    expect_error(&r, 404);
    resp_free(&r);
    req("GET", "/", NULL, &r);
    expect_error(&r, 404);
    resp_free(&r);
    req("GET", "/api/v2/tasks", NULL, &r);
    expect_error(&r, 404);
    resp_free(&r);
    req("GET", "/api/v1/tasks/" A1 "/bogus", NULL, &r);
    expect_error(&r, 404);
    resp_free(&r);
    char allow[64];
    req("DELETE", "/api/v1/agents", NULL, &r);
    expect_error(&r, 405);
    ck_assert_str_eq(hdr(&r, "Allow", allow, sizeof allow), "GET, POST");
    resp_free(&r);
    req("PUT", "/api/v1/tasks/" A1, "{}", &r);
    expect_error(&r, 405);
    resp_free(&r);
    req("GET", "/api/v1/agents/" A1 "/run", NULL, &r);
    expect_error(&r, 405);
    ck_assert_str_eq(hdr(&r, "Allow", allow, sizeof allow), "POST");
    resp_free(&r);
    req("POST", "/api/v1/tasks", "{}", &r);
    expect_error(&r, 405);
    resp_free(&r);
    req("GET", "/api/v1/tasks/", NULL, &r); /* trailing slash tolerated */
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
}
END_TEST

static int walk_tasks(const char *query_extra, int limit, int expect_total, char ids[][37])
{
    char cursor[128] = "";
    int total = 0, pages = 0;
    for (;;) {
        char path[512];
        CURL *c = curl_easy_init();
        char *esc = cursor[0] ? curl_easy_escape(c, cursor, 0) : NULL;
        snprintf(path, sizeof path, "/api/v1/tasks?limit=%d%s%s%s", limit, query_extra,
                 esc ? "&cursor=" : "", esc ? esc : "");
        curl_free(esc);
        curl_easy_cleanup(c);
        resp r;
        req("GET", path, NULL, &r);
        ck_assert_msg(r.status == 200, "%s -> %ld %s", path, r.status, r.body);
        cJSON *j = J(&r);
        const cJSON *d = cJSON_GetObjectItem(j, "data");
        const cJSON *hm = cJSON_GetObjectItem(j, "has_more");
        const cJSON *nc = cJSON_GetObjectItem(j, "next_cursor");
        ck_assert(cJSON_IsBool(hm));
        ck_assert_ptr_nonnull(nc);
        ck_assert(cJSON_IsTrue(hm) == cJSON_IsString(nc));
        ck_assert(cJSON_IsFalse(hm) == cJSON_IsNull(nc));
        ck_assert_int_le(cJSON_GetArraySize(d), limit);
        const cJSON *it;
        cJSON_ArrayForEach(it, d) {
            if (ids)
                strcpy(ids[total], jstr(it, "task_id"));
            ck_assert_ptr_nonnull(jstr(it, "agent_name"));
            ck_assert_ptr_nonnull(jstr(it, "status"));
            total++;
        }
        pages++;
        if (cJSON_IsTrue(hm)) {
            const char *cs = nc->valuestring;
            ck_assert(strchr(cs, '+') && strchr(cs, '/') && strchr(cs, '='));
            ck_assert_str_ne(cs, cursor);
            snprintf(cursor, sizeof cursor, "%s", cs);
        }
        int more = cJSON_IsTrue(hm);
        cJSON_Delete(j);
        resp_free(&r);
        if (!more)
            break;
        ck_assert_int_lt(pages, 1000);
    }
    if (expect_total >= 0)
        ck_assert_int_eq(total, expect_total);
    return total;
}

START_TEST(test_pagination)
{
    char created[25][37];
    for (int i = 0; i < 25; i++) {
        char q[64];
        snprintf(q, sizeof q, "%s number %d", i % 5 == 0 ? "Invoice" : "Receipt", i);
        char *id = run_task(i < 20 ? A1 : A2, q);
        strcpy(created[i], id);
        free(id);
    }
    char got[25][37];
    walk_tasks("", 10, 25, got);
    for (int i = 0; i < 25; i++) /* newest first */
        ck_assert_str_eq(got[i], created[24 - i]);
    walk_tasks("", 1, 25, NULL);
    walk_tasks("", 100, 25, NULL);
    walk_tasks("", 25, 25, NULL);
    walk_tasks("&agent_id=" A2, 2, 5, NULL);
    walk_tasks("&q=iNvOiCe", 2, 5, NULL);
    walk_tasks("&q=number%201", 3, 11, NULL); /* 1, 10..19 */
    walk_tasks("&created_after=2999-01-01T00:00:00Z", 10, 0, NULL);
    walk_tasks("&created_before=2000-01-01T00:00:00.5%2B02:00", 10, 0, NULL);
    walk_tasks("&created_after=2000-01-01T00:00:00.123Z&created_before=2999-01-01", 7, 25, NULL);
    walk_tasks("&status=pending,running,completed", 10, 25, NULL);
    walk_tasks("&status=failed", 10, 0, NULL);

    /* created_after equal to a task's own created_at includes it */
    resp r;
    req("GET", "/api/v1/tasks?limit=1", NULL, &r);
    cJSON *j = J(&r);
    char p[256];
    CURL *c = curl_easy_init();
    char *esc = curl_easy_escape(c, jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"), 0), "created_at"), 0);
    snprintf(p, sizeof p, "&created_after=%s&created_before=%s", esc, esc);
    curl_free(esc);
    curl_easy_cleanup(c);
    cJSON_Delete(j);
    resp_free(&r);
    ck_assert_int_ge(walk_tasks(p, 100, -1, NULL), 1);

    /* an unencoded cursor ('+' decoded as space) is still accepted */
    req("GET", "/api/v1/tasks?limit=5", NULL, &r);
    j = J(&r);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/tasks?limit=5&cursor=%s", jstr(j, "next_cursor"));
    cJSON_Delete(j);
    resp_free(&r);
    req("GET", path, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    j = J(&r);
    ck_assert_str_eq(jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"), 0), "task_id"), created[19]);
    cJSON_Delete(j);
    resp_free(&r);

    /* a cursor of another list kind is rejected */
    req("GET", "/api/v1/tasks?limit=5", NULL, &r);
    j = J(&r);
    c = curl_easy_init();
    esc = curl_easy_escape(c, jstr(j, "next_cursor"), 0);
    snprintf(path, sizeof path, "/api/v1/agents?cursor=%s", esc);
    curl_free(esc);
    curl_easy_cleanup(c);
    cJSON_Delete(j);
    resp_free(&r);
    req("GET", path, NULL, &r);
    expect_error(&r, 400);
    resp_free(&r);
}
END_TEST

START_TEST(test_lifecycle_fail_ask_review)
{
    set_cfg("{\"task_ms\": 120}");
    char *f = run_task(A1, "please FAIL now");
    ck_assert(wait_status(f, "failed", 3));
    char path[160];
    resp r;
    snprintf(path, sizeof path, "/api/v1/tasks/%s/summary", f);
    req("GET", path, NULL, &r);
    cJSON *j = J(&r);
    ck_assert_str_eq(jstr(j, "status"), "failed");
    cJSON_Delete(j);
    resp_free(&r);

    char *a = run_task(A1, "ASK: which totals?");
    ck_assert(wait_status(a, "waiting_for_input", 3));
    snprintf(path, sizeof path, "/api/v1/tasks/%s/messages", a);
    req("GET", path, NULL, &r);
    j = J(&r);
    const cJSON *d = cJSON_GetObjectItem(j, "data");
    ck_assert_int_eq(cJSON_GetArraySize(d), 2);
    const cJSON *q = cJSON_GetArrayItem(d, 1);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(q, "user_id")));
    ck_assert_ptr_nonnull(strstr(jstr(q, "content"), "?"));
    cJSON_Delete(j);
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/tasks/%s/message", a);
    req("POST", path, "{}", &r);
    expect_error(&r, 400);
    resp_free(&r);
    req("POST", path, "{\"message\":\"\"}", &r);
    expect_error(&r, 400);
    resp_free(&r);
    req("POST", path, "{\"message\":\"Use page 2\"}", &r);
    ck_assert_int_eq(r.status, 200);
    j = J(&r);
    ck_assert_str_eq(jstr(j, "status"), "running");
    ck_assert_ptr_nonnull(jstr(j, "message_id"));
    ck_assert_str_eq(jstr(j, "task_id"), a);
    cJSON_Delete(j);
    resp_free(&r);
    ck_assert(wait_status(a, "completed", 3));
    req("POST", path, "{\"message\":\"too late\"}", &r);
    expect_error(&r, 409);
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/tasks/%s/messages", a);
    req("GET", path, NULL, &r);
    j = J(&r);
    d = cJSON_GetObjectItem(j, "data");
    ck_assert_int_eq(cJSON_GetArraySize(d), 4);
    ck_assert_str_eq(jstr(cJSON_GetArrayItem(d, 2), "content"), "Use page 2");
    cJSON_Delete(j);
    resp_free(&r);

    /* custom input marker */
    set_cfg("{\"input_marker\": \"QUESTION?\"}");
    char *a2 = run_task(A1, "QUESTION? what now");
    ck_assert(wait_status(a2, "waiting_for_input", 3));

    char *rv = run_task(A2, "REVIEW this payment");
    ck_assert(wait_status(rv, "awaiting_review", 3));
    snprintf(path, sizeof path, "/api/v1/tasks/%s/message", rv);
    req("POST", path, "{\"message\":\"note\"}", &r);
    ck_assert_int_eq(r.status, 200);
    j = J(&r);
    ck_assert_str_eq(jstr(j, "status"), "awaiting_review");
    cJSON_Delete(j);
    resp_free(&r);
    snprintf(path, sizeof path, "/_emu/tasks/%s/release", rv);
    ck_assert_int_eq(ctl("POST", path, NULL, NULL), 200);
    ck_assert_int_eq(ctl("POST", path, NULL, NULL), 409);
    ck_assert(wait_status(rv, "completed", 3));
    ck_assert_int_eq(ctl("POST", "/_emu/tasks/00000000-0000-4000-8000-000000000000/release", NULL, NULL), 404);
    free(f);
    free(a);
    free(a2);
    free(rv);
}
END_TEST

START_TEST(test_cancel)
{
    set_cfg("{\"task_ms\": 60000}");
    char *id = run_task(A1, "long job");
    char path[160];
    resp r;
    snprintf(path, sizeof path, "/api/v1/tasks/%s/cancel", id);
    req("POST", path, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    cJSON *j = J(&r);
    ck_assert_str_eq(jstr(j, "status"), "stopped");
    char upd[32];
    strcpy(upd, jstr(j, "updated_at"));
    cJSON_Delete(j);
    resp_free(&r);
    req("POST", path, NULL, &r); /* idempotent */
    ck_assert_int_eq(r.status, 200);
    j = J(&r);
    ck_assert_str_eq(jstr(j, "status"), "stopped");
    ck_assert_str_eq(jstr(j, "updated_at"), upd);
    cJSON_Delete(j);
    resp_free(&r);
    /* terminal completed task: 200 unchanged */
    set_cfg("{\"task_ms\": 30}");
    char *done = run_task(A1, "quick");
    ck_assert(wait_status(done, "completed", 3));
    snprintf(path, sizeof path, "/api/v1/tasks/%s/cancel", done);
    req("POST", path, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    j = J(&r);
    ck_assert_str_eq(jstr(j, "status"), "completed");
    cJSON_Delete(j);
    resp_free(&r);
    /* message to a stopped task -> 409; history still readable */
    snprintf(path, sizeof path, "/api/v1/tasks/%s/message", id);
    req("POST", path, "{\"message\":\"hi\"}", &r);
    expect_error(&r, 409);
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/tasks/%s/messages", id);
    req("GET", path, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    free(id);
    free(done);
}
END_TEST

START_TEST(test_concurrency_queue)
{
    set_cfg("{\"concurrency\": 1, \"task_ms\": 600}");
    char *t1 = run_task(A1, "one");
    char *t2 = run_task(A1, "two");
    char *t3 = run_task(A1, "three");
    char *other = run_task(A2, "other agent not limited by A1"); /* per agent */
    char *s = task_status(t2);
    ck_assert_str_eq(s, "queued");
    free(s);
    s = task_status(t3);
    ck_assert_str_eq(s, "queued");
    free(s);
    s = task_status(other);
    ck_assert_str_ne(s, "queued");
    free(s);
    resp r;
    req("GET", "/api/v1/tasks?status=queued", NULL, &r);
    cJSON *j = J(&r);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "data")), 2);
    cJSON_Delete(j);
    resp_free(&r);
    ck_assert(wait_status(t1, "completed", 3));
    s = task_status(t2);
    ck_assert_msg(!strcmp(s, "running") || !strcmp(s, "completed"), "t2 %s", s);
    free(s);
    /* cancel the queued third task */
    s = task_status(t3);
    if (!strcmp(s, "queued")) {
        char path[160];
        snprintf(path, sizeof path, "/api/v1/tasks/%s/cancel", t3);
        req("POST", path, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        resp_free(&r);
        free(s);
        s = task_status(t3);
        ck_assert_str_eq(s, "stopped");
    }
    free(s);
    ck_assert(wait_status(t2, "completed", 3));
    /* raising the limit to unlimited releases the queue */
    char *t4 = run_task(A1, "four");
    char *t5 = run_task(A1, "five");
    s = task_status(t5);
    ck_assert_str_eq(s, "queued");
    free(s);
    set_cfg("{\"concurrency\": 0}");
    ck_assert(wait_status(t5, "completed", 3));
    ck_assert(wait_status(t4, "completed", 3));
    free(t1);
    free(t2);
    free(t3);
    free(t4);
    free(t5);
    free(other);
}
END_TEST

START_TEST(test_agents)
{
    resp r;
    req("POST", "/api/v1/agents", "{}", &r);
    ck_assert_int_eq(r.status, 200);
    cJSON *j = J(&r);
    ck_assert_str_eq(jstr(j, "name"), "Untitled Agent 1");
    ck_assert_str_eq(jstr(j, "status"), "published");
    ck_assert_int_eq(cJSON_GetObjectItem(j, "version_number")->valueint, 1);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "is_active")));
    ck_assert(cJSON_IsObject(cJSON_GetObjectItem(j, "config")));
    cJSON_Delete(j);
    resp_free(&r);
    req("POST", "/api/v1/agents", NULL, &r);
    j = J(&r);
    ck_assert_str_eq(jstr(j, "name"), "Untitled Agent 2");
    cJSON_Delete(j);
    resp_free(&r);
    req("POST", "/api/v1/agents", "{\"name\":\"Bot\",\"system_prompt\":\"Be brief.\"}", &r);
    ck_assert_int_eq(r.status, 200);
    j = J(&r);
    char id[37];
    strcpy(id, jstr(j, "id"));
    ck_assert_str_eq(jstr(cJSON_GetObjectItem(j, "config"), "system_prompt"), "Be brief.");
    cJSON_Delete(j);
    resp_free(&r);
    req("POST", "/api/v1/agents", "{\"name\":\"Bot\"}", &r);
    expect_error(&r, 409);
    resp_free(&r);
    req("POST", "/api/v1/agents", "{\"name\":\"Bot2\",\"system_prompt\":\"ignored\",\"config\":{\"system_prompt\":\"wins\",\"x\":[1]}}", &r);
    j = J(&r);
    ck_assert_str_eq(jstr(cJSON_GetObjectItem(j, "config"), "system_prompt"), "wins");
    cJSON_Delete(j);
    resp_free(&r);
    /* the new agent runs */
    char path[160];
    snprintf(path, sizeof path, "/api/v1/agents/%s/run", id);
    req("POST", path, "{\"query\":\"hi\"}", &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    /* GET */
    snprintf(path, sizeof path, "/api/v1/agents/%s", id);
    req("GET", path, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    j = J(&r);
    ck_assert_str_eq(jstr(j, "name"), "Bot");
    ck_assert_ptr_nonnull(jstr(j, "agent_group_id"));
    cJSON_Delete(j);
    resp_free(&r);
    /* PATCH semantics */
    req("PATCH", path, "{\"config\":{\"model\":\"m2\",\"tools\":[]}}", &r);
    j = J(&r);
    ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "config"), "system_prompt"));
    cJSON_Delete(j);
    resp_free(&r);
    req("PATCH", path, "{\"system_prompt\":\"New\"}", &r);
    j = J(&r);
    ck_assert_str_eq(jstr(cJSON_GetObjectItem(j, "config"), "system_prompt"), "New");
    ck_assert_str_eq(jstr(cJSON_GetObjectItem(j, "config"), "model"), "m2");
    cJSON_Delete(j);
    resp_free(&r);
    req("PATCH", path, "{\"config\":{\"system_prompt\":\"C\"},\"system_prompt\":\"S\"}", &r);
    j = J(&r);
    ck_assert_str_eq(jstr(cJSON_GetObjectItem(j, "config"), "system_prompt"), "C");
    cJSON_Delete(j);
    resp_free(&r);
    req("PATCH", path, "{\"config\":{\"a\":1},\"system_prompt\":\"S\"}", &r);
    j = J(&r);
    ck_assert_str_eq(jstr(cJSON_GetObjectItem(j, "config"), "system_prompt"), "S");
    cJSON_Delete(j);
    resp_free(&r);
    req("PATCH", path, "{}", &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    req("PATCH", path, "{\"name\":\"Support Triage\"}", &r);
    expect_error(&r, 409);
    resp_free(&r);
    req("PATCH", path, "{\"is_active\":\"no\"}", &r);
    expect_error(&r, 400);
    resp_free(&r);
    req("PATCH", path, "{\"config\":[]}", &r);
    expect_error(&r, 400);
    resp_free(&r);
    req("PATCH", path, "{\"name\":\"Renamed\",\"is_active\":false}", &r);
    j = J(&r);
    ck_assert_str_eq(jstr(j, "name"), "Renamed");
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "is_active")));
    cJSON_Delete(j);
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/agents/%s/run", id);
    req("POST", path, "{\"query\":\"hi\"}", &r);
    expect_error(&r, 403);
    resp_free(&r);
    /* list + q */
    req("GET", "/api/v1/agents?q=RENAM", NULL, &r);
    j = J(&r);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "data")), 1);
    ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"), 0), "config"));
    cJSON_Delete(j);
    resp_free(&r);
    /* versions + publish */
    snprintf(path, sizeof path, "/api/v1/agents/%s/versions/publish", id);
    req("POST", path, NULL, &r);
    expect_error(&r, 409);
    resp_free(&r);
    char cpath[160];
    snprintf(cpath, sizeof cpath, "/_emu/agents/%s/draft", id);
    ck_assert_int_eq(ctl("POST", cpath, NULL, NULL), 200);
    req("POST", path, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    j = J(&r);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "version_number")->valueint, 2);
    ck_assert_str_eq(jstr(j, "status"), "published");
    ck_assert_ptr_null(cJSON_GetObjectItem(j, "config"));
    char v2[37];
    strcpy(v2, jstr(j, "id"));
    cJSON_Delete(j);
    resp_free(&r);
    req("POST", path, NULL, &r); /* draft consumed */
    expect_error(&r, 409);
    resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/agents/%s/versions", v2);
    req("GET", path, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    j = J(&r);
    const cJSON *d = cJSON_GetObjectItem(j, "data");
    ck_assert_int_eq(cJSON_GetArraySize(d), 2);
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 0), "version_number")->valueint, 2);
    ck_assert_str_eq(jstr(cJSON_GetArrayItem(d, 1), "status"), "archived");
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "has_more")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "next_cursor")));
    cJSON_Delete(j);
    resp_free(&r);
    /* versions paginated with limit=1 */
    snprintf(path, sizeof path, "/api/v1/agents/%s/versions?limit=1", id);
    req("GET", path, NULL, &r);
    j = J(&r);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "has_more")));
    CURL *c = curl_easy_init();
    char *esc = curl_easy_escape(c, jstr(j, "next_cursor"), 0);
    snprintf(path, sizeof path, "/api/v1/agents/%s/versions?limit=1&cursor=%s", id, esc);
    curl_free(esc);
    curl_easy_cleanup(c);
    cJSON_Delete(j);
    resp_free(&r);
    req("GET", path, NULL, &r);
    j = J(&r);
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"), 0), "version_number")->valueint, 1);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "has_more")));
    cJSON_Delete(j);
    resp_free(&r);
    /* default list excludes archived; status=archived shows it */
    req("GET", "/api/v1/agents?limit=100", NULL, &r);
    j = J(&r);
    int n_default = cJSON_GetArraySize(cJSON_GetObjectItem(j, "data"));
    cJSON_Delete(j);
    resp_free(&r);
    ck_assert_int_eq(n_default, 3 + 4); /* 3 built-in + Untitled 1, 2, Renamed v2, Bot2 */
    req("GET", "/api/v1/agents?status=archived", NULL, &r);
    j = J(&r);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "data")), 1);
    cJSON_Delete(j);
    resp_free(&r);
    /* agents pagination */
    int seen = 0;
    char cursor[128] = "";
    for (int pg = 0; pg < 10; pg++) {
        c = curl_easy_init();
        esc = cursor[0] ? curl_easy_escape(c, cursor, 0) : NULL;
        snprintf(path, sizeof path, "/api/v1/agents?limit=2%s%s", esc ? "&cursor=" : "", esc ? esc : "");
        curl_free(esc);
        curl_easy_cleanup(c);
        req("GET", path, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        j = J(&r);
        seen += cJSON_GetArraySize(cJSON_GetObjectItem(j, "data"));
        int more = cJSON_IsTrue(cJSON_GetObjectItem(j, "has_more"));
        if (more)
            snprintf(cursor, sizeof cursor, "%s", jstr(j, "next_cursor"));
        cJSON_Delete(j);
        resp_free(&r);
        if (!more)
            break;
    }
    ck_assert_int_eq(seen, n_default);
}
END_TEST

START_TEST(test_rate_limit)
{
    teardown();
    start_with("{\"workspaces\":[{\"name\":\"w\",\"keys\":[\"k1\",\"k2\"],\"rate\":0.5,\"burst\":2,"
               "\"agents\":[{\"id\":\"" A1 "\"}]}]}", 1);
    resp r;
    req_full("GET", "/api/v1/tasks", "k1", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    req_full("GET", "/api/v1/tasks", "k2", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    req_full("GET", "/api/v1/tasks", "k2", NULL, NULL, NULL, &r); /* shared bucket */
    expect_error(&r, 429);
    char ra[64];
    ck_assert_ptr_nonnull(hdr(&r, "Retry-After", ra, sizeof ra));
    int secs = atoi(ra);
    ck_assert_int_ge(secs, 1);
    ck_assert_int_le(secs, 2);
    ck_assert_int_eq((int)strspn(ra, "0123456789"), (int)strlen(ra));
    resp_free(&r);
    set_cfg("{\"retry_after_format\":\"http-date\"}");
    req_full("GET", "/api/v1/tasks", "k1", NULL, NULL, NULL, &r);
    expect_error(&r, 429);
    ck_assert_ptr_nonnull(hdr(&r, "Retry-After", ra, sizeof ra));
    ck_assert_ptr_nonnull(strstr(ra, "GMT"));
    time_t when = curl_getdate(ra, NULL);
    time_t now = time(NULL);
    ck_assert(when >= now && when <= now + 4);
    resp_free(&r);
    ck_assert_int_ge(counter("requests"), 4);
    /* raising the rate lifts the limit */
    set_cfg("{\"rate\": 0}");
    req_full("GET", "/api/v1/tasks", "k1", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    cJSON *j;
    ctl("GET", "/_emu/counters", NULL, &j);
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "by_status"), "429")->valueint, 2);
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "per_workspace"), "w"), "rate_limited")->valueint, 2);
    cJSON_Delete(j);
}
END_TEST

START_TEST(test_faults)
{
    resp r;
    set_cfg("{\"fault_500\": 1}");
    req("GET", "/api/v1/tasks", NULL, &r);
    expect_error(&r, 500);
    resp_free(&r);
    set_cfg("{\"fault_500\": 0, \"fault_502\": 1}");
    req("GET", "/api/v1/tasks", NULL, &r);
    ck_assert_int_eq(r.status, 502);
    ck_assert_ptr_null(cJSON_Parse(r.body));
    char ct[64];
    ck_assert_ptr_nonnull(strstr(hdr(&r, "Content-Type", ct, sizeof ct), "text/html"));
    resp_free(&r);
    set_cfg("{\"fault_502\": 0, \"fault_503\": 1}");
    req("POST", "/api/v1/agents/" A1 "/run", "{\"query\":\"x\"}", &r);
    expect_error(&r, 503);
    resp_free(&r);
    ck_assert_int_eq(counter("tasks_created"), 0);
    set_cfg("{\"fault_503\": 0, \"commit_then_fail\": 1}");
    req("POST", "/api/v1/agents/" A1 "/run", "{\"query\":\"committed\"}", &r);
    expect_error(&r, 500);
    resp_free(&r);
    ck_assert_int_eq(counter("tasks_created"), 1);
    cJSON *j;
    ck_assert_int_eq(ctl("GET", "/_emu/tasks?agent_id=" A1, NULL, &j), 200);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "count")->valueint, 1);
    cJSON_Delete(j);
    set_cfg("{\"commit_then_fail\": 0, \"commit_then_drop\": 1}");
    req("POST", "/api/v1/agents/" A1 "/run", "{\"query\":\"dropped\"}", &r);
    ck_assert_int_eq(r.curl_rc, CURLE_GOT_NOTHING);
    resp_free(&r);
    ck_assert_int_eq(counter("tasks_created"), 2);
    ck_assert_int_eq(counter("dropped"), 1);
    /* the reconciliation query of spec 5.3 finds both */
    set_cfg("{\"commit_then_drop\": 0}");
    req("GET", "/api/v1/tasks?agent_id=" A1 "&created_after=2000-01-01T00:00:00Z", NULL, &r);
    j = J(&r);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "data")), 2);
    cJSON_Delete(j);
    resp_free(&r);
    /* invalid settings */
    ck_assert_int_eq(ctl("POST", "/_emu/config", "{\"fault_500\": 2}", NULL), 400);
    ck_assert_int_eq(ctl("POST", "/_emu/config", "{\"nope\": 1}", NULL), 400);
    ck_assert_int_eq(ctl("POST", "/_emu/config", "{\"cross_workspace\": 401}", NULL), 400);
    ck_assert_int_eq(ctl("POST", "/_emu/config", "[]", NULL), 400);
    /* rejected update changed nothing */
    ck_assert_int_eq(ctl("POST", "/_emu/config", "{\"fault_500\": 1, \"task_ms\": -5}", NULL), 400);
    req("GET", "/api/v1/tasks", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
}
END_TEST

static void fault_sequence(unsigned long long seed, char *out, int n)
{
    char cfg[128];
    snprintf(cfg, sizeof cfg, "{\"fault_500\": 0.5, \"seed\": %llu}", seed);
    set_cfg(cfg);
    for (int i = 0; i < n; i++) {
        resp r;
        req("GET", "/api/v1/tasks", NULL, &r);
        out[i] = r.status == 200 ? '.' : 'X';
        resp_free(&r);
    }
    out[n] = '\0';
}

START_TEST(test_seed_determinism_and_latency)
{
    char a[41], b[41], c[41];
    fault_sequence(7, a, 40);
    fault_sequence(7, b, 40);
    fault_sequence(8, c, 40);
    ck_assert_str_eq(a, b);
    ck_assert_str_ne(a, c);
    ck_assert_ptr_nonnull(strchr(a, 'X'));
    ck_assert_ptr_nonnull(strchr(a, '.'));
    set_cfg("{\"fault_500\": 0, \"latency_ms\": 150}");
    resp r;
    req("GET", "/api/v1/tasks", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert(r.secs >= 0.14);
    resp_free(&r);
    /* latency does not block the server: control still answers at once */
    set_cfg("{\"latency_ms\": 100, \"latency_max_ms\": 200}");
    req("GET", "/api/v1/tasks", NULL, &r);
    ck_assert(r.secs >= 0.09 && r.secs < 2);
    resp_free(&r);
    cJSON *j;
    ctl("GET", "/_emu/log?limit=1", NULL, &j);
    const cJSON *e0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"), 0);
    ck_assert(cJSON_GetObjectItem(e0, "latency_ms")->valuedouble >= 90);
    cJSON_Delete(j);
}
END_TEST

START_TEST(test_scripts)
{
    cJSON *j;
    ck_assert_int_eq(ctl("POST", "/_emu/script",
                         "{\"route\":\"run\",\"responses\":[{\"pass\":true},{\"pass\":true},"
                         "{\"status\":500,\"json\":{\"error\":\"scripted\"}},"
                         "{\"status\":429,\"body\":\"{\\\"error\\\":\\\"slow down\\\"}\",\"headers\":{\"Retry-After\":\"2\"}},"
                         "{\"status\":503,\"commit\":true},"
                         "{\"drop\":true,\"commit\":true},"
                         "{\"status\":502,\"body\":\"<html>bad gateway</html>\"}]}",
                         NULL),
                     200);
    ctl("GET", "/_emu/script", NULL, &j);
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "pending"), "run")->valueint, 7);
    cJSON_Delete(j);
    resp r;
    long want[] = {200, 200, 500, 429, 503, -1, 502, 200};
    for (int i = 0; i < 8; i++) {
        req("POST", "/api/v1/agents/" A1 "/run", "{\"query\":\"s\"}", &r);
        if (want[i] < 0) {
            ck_assert_int_eq(r.curl_rc, CURLE_GOT_NOTHING);
        } else {
            ck_assert_msg(r.status == want[i], "step %d: %ld", i, r.status);
        }
        if (i == 2) {
            j = J(&r);
            ck_assert_str_eq(jstr(j, "error"), "scripted");
            cJSON_Delete(j);
        }
        if (i == 3) {
            char ra[16];
            ck_assert_str_eq(hdr(&r, "Retry-After", ra, sizeof ra), "2");
        }
        if (i == 6)
            ck_assert_str_eq(r.body, "<html>bad gateway</html>");
        resp_free(&r);
    }
    /* pass, pass, 500(no), 429(no), 503(commit), drop(commit), 502(no), 200 */
    ck_assert_int_eq(counter("tasks_created"), 5);
    /* "*" applies to any route; auth is checked first */
    ck_assert_int_eq(ctl("POST", "/_emu/script", "{\"route\":\"*\",\"responses\":[{\"status\":418,\"delay_ms\":100}]}", NULL), 200);
    req_full("GET", "/api/v1/tasks", NULL, NULL, NULL, NULL, &r);
    expect_error(&r, 401);
    resp_free(&r);
    req("GET", "/api/v1/agents", NULL, &r);
    ck_assert_int_eq(r.status, 418);
    ck_assert(r.secs >= 0.09);
    resp_free(&r);
    req("GET", "/api/v1/agents", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    /* route-specific before "*" */
    ck_assert_int_eq(ctl("POST", "/_emu/script", "{\"route\":\"tasks.list\",\"responses\":[{\"status\":500}]}", NULL), 200);
    ck_assert_int_eq(ctl("POST", "/_emu/script", "{\"route\":\"*\",\"responses\":[{\"status\":503}]}", NULL), 200);
    req("GET", "/api/v1/tasks", NULL, &r);
    ck_assert_int_eq(r.status, 500);
    resp_free(&r);
    req("GET", "/api/v1/tasks", NULL, &r);
    ck_assert_int_eq(r.status, 503);
    resp_free(&r);
    /* invalid scripts */
    ck_assert_int_eq(ctl("POST", "/_emu/script", "{\"route\":\"nope\",\"responses\":[]}", NULL), 400);
    ck_assert_int_eq(ctl("POST", "/_emu/script", "{\"route\":\"run\",\"responses\":[{}]}", NULL), 400);
    ck_assert_int_eq(ctl("POST", "/_emu/script", "{\"route\":\"run\"}", NULL), 400);
    /* scripted responses are logged and counted */
    ctl("GET", "/_emu/counters", NULL, &j);
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "by_status"), "418")->valueint, 1);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "dropped")->valueint, 1);
    cJSON_Delete(j);
    ctl("GET", "/_emu/log", NULL, &j);
    const cJSON *d = cJSON_GetObjectItem(j, "data");
    const cJSON *e0 = cJSON_GetArrayItem(d, 0);
    ck_assert_str_eq(jstr(e0, "route"), "run");
    ck_assert_str_eq(jstr(e0, "method"), "POST");
    ck_assert_str_eq(jstr(e0, "workspace"), "default");
    ck_assert_str_eq(jstr(e0, "path"), "/api/v1/agents/" A1 "/run");
    ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(e0, "t")));
    cJSON_Delete(j);
}
END_TEST

START_TEST(test_multipart)
{
    CURL *c = curl_easy_init();
    static char big[5000];
    memset(big, 'x', sizeof big);
    /* two files + query + output_config */
    curl_mime *m = curl_mime_init(c);
    curl_mimepart *p = curl_mime_addpart(m);
    curl_mime_name(p, "files");
    curl_mime_data(p, "front page", CURL_ZERO_TERMINATED);
    curl_mime_filename(p, "front.pdf");
    curl_mime_type(p, "application/pdf");
    p = curl_mime_addpart(m);
    curl_mime_name(p, "files");
    curl_mime_data(p, big, sizeof big);
    curl_mime_filename(p, "back.png");
    curl_mime_type(p, "image/png");
    p = curl_mime_addpart(m);
    curl_mime_name(p, "query");
    curl_mime_data(p, "Match these pages", CURL_ZERO_TERMINATED);
    p = curl_mime_addpart(m);
    curl_mime_name(p, "output_config");
    curl_mime_data(p, "{\"output_schema\":\"{\\\"total\\\":\\\"number\\\"}\"}", CURL_ZERO_TERMINATED);
    resp r;
    req_full("POST", "/api/v1/agents/" A1 "/run", KEY, NULL, NULL, m, &r);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    cJSON *j = J(&r);
    char id[37];
    strcpy(id, jstr(j, "task_id"));
    cJSON_Delete(j);
    resp_free(&r);
    curl_mime_free(m);
    ck_assert(wait_status(id, "completed", 3));
    char path[160];
    snprintf(path, sizeof path, "/api/v1/tasks/%s/summary", id);
    req("GET", path, NULL, &r);
    j = J(&r);
    ck_assert_str_eq(jstr(j, "title"), "Match these pages");
    const cJSON *ed = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "result"), "extracted_data");
    ck_assert(cJSON_IsObject(ed));
    ck_assert_int_eq(cJSON_GetObjectItem(ed, "document_count")->valueint, 2);
    cJSON_Delete(j);
    resp_free(&r);

    /* legacy single "file", no query: title from the file name */
    m = curl_mime_init(c);
    p = curl_mime_addpart(m);
    curl_mime_name(p, "file");
    curl_mime_data(p, "abc", CURL_ZERO_TERMINATED);
    curl_mime_filename(p, "invoice-42.pdf");
    req_full("POST", "/api/v1/agents/" A1 "/run", KEY, NULL, NULL, m, &r);
    ck_assert_int_eq(r.status, 200);
    j = J(&r);
    strcpy(id, jstr(j, "task_id"));
    cJSON_Delete(j);
    resp_free(&r);
    curl_mime_free(m);
    snprintf(path, sizeof path, "/api/v1/tasks/%s", id);
    req("GET", path, NULL, &r);
    j = J(&r);
    ck_assert_str_eq(jstr(j, "title"), "invoice-42.pdf");
    cJSON_Delete(j);
    resp_free(&r);

    /* neither query nor file */
    m = curl_mime_init(c);
    p = curl_mime_addpart(m);
    curl_mime_name(p, "other");
    curl_mime_data(p, "zzz", CURL_ZERO_TERMINATED);
    req_full("POST", "/api/v1/agents/" A1 "/run", KEY, NULL, NULL, m, &r);
    expect_error(&r, 400);
    resp_free(&r);
    curl_mime_free(m);

    /* bad output_config string */
    m = curl_mime_init(c);
    p = curl_mime_addpart(m);
    curl_mime_name(p, "query");
    curl_mime_data(p, "q", CURL_ZERO_TERMINATED);
    p = curl_mime_addpart(m);
    curl_mime_name(p, "output_config");
    curl_mime_data(p, "not json", CURL_ZERO_TERMINATED);
    req_full("POST", "/api/v1/agents/" A1 "/run", KEY, NULL, NULL, m, &r);
    expect_error(&r, 400);
    resp_free(&r);
    curl_mime_free(m);

    /* oversize */
    set_cfg("{\"max_upload_bytes\": 4096}");
    m = curl_mime_init(c);
    p = curl_mime_addpart(m);
    curl_mime_name(p, "files");
    curl_mime_data(p, big, sizeof big);
    curl_mime_filename(p, "big.bin");
    req_full("POST", "/api/v1/agents/" A1 "/run", KEY, NULL, NULL, m, &r);
    expect_error(&r, 400);
    ck_assert_ptr_nonnull(strstr(r.body, "4096"));
    resp_free(&r);
    curl_mime_free(m);
    /* several files that together exceed it */
    m = curl_mime_init(c);
    for (int i = 0; i < 3; i++) {
        p = curl_mime_addpart(m);
        curl_mime_name(p, "files");
        curl_mime_data(p, big, 2000);
        curl_mime_filename(p, "part.bin");
    }
    req_full("POST", "/api/v1/agents/" A1 "/run", KEY, NULL, NULL, m, &r);
    expect_error(&r, 400);
    resp_free(&r);
    curl_mime_free(m);
    curl_easy_cleanup(c);
    ck_assert_int_eq(counter("tasks_created"), 2);
}
END_TEST

START_TEST(test_eviction)
{
    set_cfg("{\"max_tasks\": 10, \"task_ms\": 0}");
    char *ids[15];
    for (int i = 0; i < 15; i++)
        ids[i] = run_task(A1, "evict me");
    ck_assert_int_eq(counter("tasks_stored"), 10);
    ck_assert_int_eq(counter("tasks_evicted"), 5);
    for (int i = 0; i < 15; i++) {
        char path[128];
        snprintf(path, sizeof path, "/api/v1/tasks/%s", ids[i]);
        resp r;
        req("GET", path, NULL, &r);
        ck_assert_int_eq(r.status, i < 5 ? 404 : 200);
        resp_free(&r);
        free(ids[i]);
    }
    walk_tasks("", 3, 10, NULL);
    /* unfinished tasks are kept while finished ones can go */
    set_cfg("{\"max_tasks\": 3, \"task_ms\": 60000}");
    char *keep = run_task(A2, "long running");
    char *more[4];
    for (int i = 0; i < 4; i++)
        more[i] = run_task(A2, "also long");
    ck_assert_int_eq(counter("tasks_stored"), 3);
    char path[128];
    resp r;
    snprintf(path, sizeof path, "/api/v1/tasks/%s", more[3]);
    req("GET", path, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    free(keep);
    for (int i = 0; i < 4; i++)
        free(more[i]);
    /* big store: hash growth + removal */
    set_cfg("{\"max_tasks\": 3000, \"task_ms\": 0}");
    for (int i = 0; i < 5000; i++) {
        char *id = run_task(A1, "bulk");
        free(id);
    }
    ck_assert_int_eq(counter("tasks_stored"), 3000);
    walk_tasks("", 100, 3000, NULL);
}
END_TEST

START_TEST(test_control_disabled)
{
    teardown();
    start_with(NULL, 0);
    resp r;
    req_full("GET", "/_emu/counters", NULL, NULL, NULL, NULL, &r);
    expect_error(&r, 404);
    resp_free(&r);
    req_full("POST", "/_emu/reset", NULL, NULL, "{}", NULL, &r);
    expect_error(&r, 404);
    resp_free(&r);
    /* the in-process API still works */
    ck_assert_int_eq(ctl("GET", "/_emu/counters", NULL, NULL), 200);
}
END_TEST

START_TEST(test_control_http_and_reset)
{
    resp r;
    req_full("POST", "/_emu/config", NULL, NULL, "{\"task_ms\": 1000, \"varied_success_codes\": true}", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    cJSON *j = J(&r);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "task_ms")->valueint, 1000);
    cJSON_Delete(j);
    resp_free(&r);
    req("POST", "/api/v1/agents/" A1 "/run", "{\"query\":\"ASK: varied\"}", &r);
    ck_assert_int_eq(r.status, 201);
    j = J(&r);
    char id[37];
    strcpy(id, jstr(j, "task_id"));
    cJSON_Delete(j);
    resp_free(&r);
    req("POST", "/api/v1/agents", "{\"name\":\"Temp\"}", &r);
    ck_assert_int_eq(r.status, 201);
    resp_free(&r);
    char path[128];
    snprintf(path, sizeof path, "/api/v1/tasks/%s/message", id);
    req("POST", path, "{\"message\":\"m\"}", &r);
    ck_assert_int_eq(r.status, 202);
    resp_free(&r);
    req_full("GET", "/_emu/counters", NULL, NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    j = J(&r);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "tasks_created")->valueint, 1);
    ck_assert(cJSON_IsObject(cJSON_GetObjectItem(j, "by_route")));
    ck_assert(cJSON_IsObject(cJSON_GetObjectItem(j, "per_workspace")));
    cJSON_Delete(j);
    resp_free(&r);
    req_full("GET", "/_emu/nope", NULL, NULL, NULL, NULL, &r);
    expect_error(&r, 404);
    resp_free(&r);
    req_full("POST", "/_emu/reset", NULL, NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    ck_assert_int_eq(counter("tasks_stored"), 0);
    ck_assert_int_eq(counter("requests"), 0);
    req("GET", "/api/v1/agents?q=Temp", NULL, &r);
    j = J(&r);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "data")), 0);
    cJSON_Delete(j);
    resp_free(&r);
    ctl("GET", "/_emu/config", NULL, &j);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "task_ms")->valueint, 300);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "varied_success_codes")));
    cJSON_Delete(j);
    snprintf(path, sizeof path, "/api/v1/tasks/%s", id);
    req("GET", path, NULL, &r);
    expect_error(&r, 404);
    resp_free(&r);
    ck_assert_int_eq(ctl("GET", "/_emu/reset", NULL, NULL), 405);
    ck_assert_int_eq(ctl("POST", "/_emu/agents/" A1 "/draft", "{\"has_draft\": false}", NULL), 200);
    ck_assert_int_eq(ctl("POST", "/_emu/agents/bad/draft", NULL, NULL), 400);
}
END_TEST

START_TEST(test_log_file)
{
    teardown();
    char tmpl[] = "/tmp/nna-emu-log-XXXXXX";
    int fd = mkstemp(tmpl);
    ck_assert_int_ge(fd, 0);
    close(fd);
    nna_emu_options o;
    nna_emu_options_init(&o);
    o.quiet = 1;
    o.log_path = tmpl;
    ck_assert_int_eq(nna_emu_start(&o, &E), 0);
    snprintf(BASE, sizeof BASE, "http://127.0.0.1:%u", (unsigned)nna_emu_port(E));
    resp r;
    req("GET", "/api/v1/tasks?limit=3", NULL, &r);
    resp_free(&r);
    req_full("GET", "/api/v1/tasks", "wrong", NULL, NULL, NULL, &r);
    resp_free(&r);
    nna_emu_stop(E);
    E = NULL;
    FILE *f = fopen(tmpl, "r");
    ck_assert_ptr_nonnull(f);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line);
        ck_assert_ptr_nonnull(j);
        ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "status")));
        ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "latency_ms")));
        ck_assert_str_eq(jstr(j, "method"), "GET");
        cJSON_Delete(j);
        n++;
    }
    fclose(f);
    unlink(tmpl);
    ck_assert_int_eq(n, 2);
    start_with(NULL, 1); /* for teardown */
}
END_TEST

START_TEST(test_config_errors)
{
    nna_emu *e2 = NULL;
    nna_emu_options o;
    nna_emu_options_init(&o);
    o.quiet = 1;
    const char *bad[] = {"[]", "{}", "{\"workspaces\":[]}", "{\"workspaces\":[{\"name\":\"a\"}]}",
                         "{\"workspaces\":[{\"name\":\"a\",\"keys\":[\"k\"]},{\"name\":\"b\",\"keys\":[\"k\"]}]}",
                         "{\"workspaces\":[{\"name\":\"a\",\"keys\":[\"k\"],\"agents\":[{\"id\":\"x\"}]}]}",
                         "{\"workspaces\":[{\"name\":\"a\",\"keys\":[\"k\"]}],\"settings\":{\"bogus\":1}}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.config_json = bad[i];
        ck_assert_int_eq(nna_emu_start(&o, &e2), -EINVAL);
        ck_assert_ptr_null(e2);
    }
    o.config_json = "{\"workspaces\":[{\"name\":\"a\",\"keys\":[\"k\"],\"agents\":[{\"name\":\"n\",\"concurrency\":1}]}],"
                    "\"settings\":{\"task_ms\":50},\"cross_workspace\":403}";
    ck_assert_int_eq(nna_emu_start(&o, &e2), 0);
    char *resp = NULL;
    ck_assert_int_eq(nna_emu_control(e2, "GET", "/_emu/config", NULL, &resp), 200);
    ck_assert_ptr_nonnull(strstr(resp, "\"task_ms\":50"));
    ck_assert_ptr_nonnull(strstr(resp, "\"cross_workspace\":403"));
    free(resp);
    nna_emu_stop(e2);
    nna_emu_stop(NULL);
    o.config_json = NULL;
    o.config_path = "/nonexistent/emu.json";
    ck_assert_int_lt(nna_emu_start(&o, &e2), 0);
}
END_TEST

/* 256 concurrent keep-alive connections, a few thousand requests */
START_TEST(test_stress_256)
{
    enum { CONNS = 256, PER = 12 };
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)CONNS);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)CONNS);
    CURL *h[CONNS];
    int left[CONNS];
    char url[256];
    snprintf(url, sizeof url, "%s/api/v1/agents/%s/run", BASE, A1);
    struct curl_slist *hd = NULL;
    hd = curl_slist_append(hd, "Authorization: Bearer " KEY);
    hd = curl_slist_append(hd, "Content-Type: application/json");
    static resp sink[CONNS];
    for (int i = 0; i < CONNS; i++) {
        memset(&sink[i], 0, sizeof sink[i]);
        h[i] = curl_easy_init();
        curl_easy_setopt(h[i], CURLOPT_URL, url);
        curl_easy_setopt(h[i], CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(h[i], CURLOPT_POSTFIELDS, "{\"query\":\"stress\"}");
        curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, wr_cb);
        curl_easy_setopt(h[i], CURLOPT_WRITEDATA, &sink[i]);
        curl_easy_setopt(h[i], CURLOPT_TIMEOUT, 20L);
        curl_easy_setopt(h[i], CURLOPT_NOSIGNAL, 1L);
        left[i] = PER;
        curl_multi_add_handle(multi, h[i]);
    }
    double t0 = now_s();
    int running = 1, ok = 0, bad = 0;
    while (running || ok + bad < CONNS * PER) {
        curl_multi_perform(multi, &running);
        CURLMsg *msg;
        int q;
        while ((msg = curl_multi_info_read(multi, &q))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *e = msg->easy_handle;
            long st = 0;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &st);
            if (msg->data.result == CURLE_OK && st == 200)
                ok++;
            else
                bad++;
            int i;
            for (i = 0; i < CONNS && h[i] != e; i++)
                ;
            free(sink[i].body);
            memset(&sink[i], 0, sizeof sink[i]);
            curl_multi_remove_handle(multi, e);
            if (--left[i] > 0) {
                curl_multi_add_handle(multi, e);
                running = 1;
            }
        }
        if (now_s() - t0 > 30)
            break;
        curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    double el = now_s() - t0;
    for (int i = 0; i < CONNS; i++) {
        curl_easy_cleanup(h[i]);
        free(sink[i].body);
    }
    curl_slist_free_all(hd);
    curl_multi_cleanup(multi);
    ck_assert_msg(bad == 0 && ok == CONNS * PER, "ok=%d bad=%d in %.2fs", ok, bad, el);
    ck_assert_msg(el < 20, "took %.2fs", el);
    ck_assert_int_eq(counter("tasks_created"), CONNS * PER);
}
END_TEST

/* the binary: --port 0 prints the port alone on the first stdout line */
START_TEST(test_binary_port0)
{
    char bin[1024];
    const char *dir = getenv("NNA_EMU_BIN_DIR");
    snprintf(bin, sizeof bin, "%s/nna-emu", dir ? dir : NNA_EMU_BUILDDIR);
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "test_binary_port0: %s not built, skipped\n", bin);
        return;
    }
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_addclose(&fa, pfd[0]);
    char *argv[] = {bin, "--port", "0", "--quiet", "--task-ms", "50", "--rate", "1000", NULL};
    pid_t pid;
    ck_assert_int_eq(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    FILE *f = fdopen(pfd[0], "r");
    char line[64] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_int_eq((int)strspn(line, "0123456789"), (int)strlen(line) - 1);
    ck_assert_int_eq(line[strlen(line) - 1], '\n');
    int port = atoi(line);
    ck_assert_int_gt(port, 0);
    snprintf(BASE, sizeof BASE, "http://127.0.0.1:%d", port);
    resp r;
    req_full("GET", "/_emu/config", NULL, NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"task_ms\":50"));
    ck_assert_ptr_nonnull(strstr(r.body, "\"rate\":1000"));
    resp_free(&r);
    char *id = run_task(A1, "from the binary");
    free(id);
    kill(pid, SIGTERM);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fclose(f);
    snprintf(BASE, sizeof BASE, "http://127.0.0.1:%u", (unsigned)nna_emu_port(E));

    /* --help documents the options */
    ck_assert_int_eq(pipe(pfd), 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_addclose(&fa, pfd[0]);
    char *hargv[] = {bin, "--help", NULL};
    ck_assert_int_eq(posix_spawn(&pid, bin, &fa, NULL, hargv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    f = fdopen(pfd[0], "r");
    char all[16384];
    size_t n = fread(all, 1, sizeof all - 1, f);
    all[n] = '\0';
    fclose(f);
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    const char *opts[] = {"--host", "--port", "--config", "--seed", "--no-control", "--log", "--rate",
                          "--burst", "--latency-ms", "--fault-500", "--fault-502", "--fault-503",
                          "--commit-then-fail", "--commit-then-drop", "--task-ms", "--concurrency",
                          "--retry-after-date", "--cross-workspace", "--varied-success-codes",
                          "--max-tasks", "--max-upload-bytes", "--input-marker"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        ck_assert_msg(strstr(all, opts[i]) != NULL, "--help lacks %s", opts[i]);
}
END_TEST

START_TEST(test_messages_and_ids)
{
    set_cfg("{\"task_ms\": 60000}");
    char *id = run_task(A1, "chatty");
    char path[160];
    snprintf(path, sizeof path, "/api/v1/tasks/%s/message", id);
    resp r;
    for (int i = 0; i < 3; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"message\":\"msg %d\"}", i);
        req("POST", path, body, &r);
        ck_assert_int_eq(r.status, 200);
        resp_free(&r);
    }
    snprintf(path, sizeof path, "/api/v1/tasks/%s/messages", id);
    req("GET", path, NULL, &r);
    cJSON *j = J(&r);
    const cJSON *d = cJSON_GetObjectItem(j, "data");
    ck_assert_int_eq(cJSON_GetArraySize(d), 4);
    for (int i = 0; i < 4; i++)
        for (int k = i + 1; k < 4; k++)
            ck_assert_str_ne(jstr(cJSON_GetArrayItem(d, i), "id"), jstr(cJSON_GetArrayItem(d, k), "id"));
    ck_assert_str_eq(jstr(cJSON_GetArrayItem(d, 3), "content"), "msg 2");
    ck_assert_str_eq(jstr(cJSON_GetArrayItem(d, 3), "parent_id"), jstr(cJSON_GetArrayItem(d, 2), "id"));
    cJSON_Delete(j);
    resp_free(&r);
    /* long query: title is cut to about 60 characters, UTF-8 safe */
    char *lid = run_task(A1, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                             "\xc3\xa9 and a lot more text after it");
    snprintf(path, sizeof path, "/api/v1/tasks/%s", lid);
    req("GET", path, NULL, &r);
    j = J(&r);
    ck_assert_int_le((int)strlen(jstr(j, "title")), 60);
    ck_assert_int_eq((int)strlen(jstr(j, "title")) % 2, 0);
    cJSON_Delete(j);
    resp_free(&r);
    free(lid);
    free(id);
}
END_TEST

static void *slow_req(void *arg)
{
    resp *r = arg;
    req("GET", "/api/v1/tasks", NULL, r);
    return NULL;
}

/* stopping with a latency-suspended request in flight is clean and fast */
START_TEST(test_stop_with_suspended)
{
    set_cfg("{\"latency_ms\": 5000}");
    static resp r;
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, slow_req, &r), 0);
    usleep(300000); /* the request is now suspended for its injected latency */
    double t0 = now_s();
    nna_emu_stop(E);
    E = NULL;
    pthread_join(th, NULL);
    ck_assert(now_s() - t0 < 3);
    ck_assert(r.curl_rc != CURLE_OK || r.status != 200);
    resp_free(&r);
    start_with(NULL, 1); /* for teardown */
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("nna-emu");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_run_and_get);
    tcase_add_test(tc, test_auth);
    tcase_add_test(tc, test_cross_workspace);
    tcase_add_test(tc, test_validation);
    tcase_add_test(tc, test_routes);
    tcase_add_test(tc, test_pagination);
    tcase_add_test(tc, test_lifecycle_fail_ask_review);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_concurrency_queue);
    tcase_add_test(tc, test_agents);
    tcase_add_test(tc, test_rate_limit);
    tcase_add_test(tc, test_faults);
    tcase_add_test(tc, test_seed_determinism_and_latency);
    tcase_add_test(tc, test_scripts);
    tcase_add_test(tc, test_multipart);
    tcase_add_test(tc, test_eviction);
    tcase_add_test(tc, test_control_disabled);
    tcase_add_test(tc, test_control_http_and_reset);
    tcase_add_test(tc, test_log_file);
    tcase_add_test(tc, test_config_errors);
    tcase_add_test(tc, test_messages_and_ids);
    tcase_add_test(tc, test_stress_256);
    tcase_add_test(tc, test_binary_port0);
    tcase_add_test(tc, test_stop_with_suspended);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
