/* Typed API tests against an in-process nna-emu: every endpoint, multipart uploads,
 * validation that sends nothing, every pagination edge case (scripted pages), waits through
 * each outcome, and the bulk watch's request budget on a 1,000-run fan-out. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

#define A1 NNA_EMU_AGENT_1
#define A2 NNA_EMU_AGENT_2
#define NO_SUCH "00000000-0000-4000-8000-000000000000"

/* ---- helpers ------------------------------------------------------------------------ */

static nna_future *done(tctx *t, nna_future *f)
{
    ck_assert_ptr_nonnull(f);
    ck_assert(run_until_done(t->loop, f, 30));
    return f;
}

static void expect(tctx *t, nna_future *f, nna_status st)
{
    done(t, f);
    if (nna_future_status(f) != st)
        ck_abort_msg("expected %s, got %s (%s)", nna_status_name(st),
                     nna_status_name(nna_future_status(f)),
                     nna_future_error(f) ? nna_future_error(f) : "");
}

static int emu_requests(tctx *t)
{
    cJSON *c = emu_ctl(t, "GET", "/_emu/counters", NULL, NULL);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "requests");
    int v = cJSON_IsNumber(n) ? n->valueint : -1;
    cJSON_Delete(c);
    return v;
}

static void script(tctx *t, const char *body)
{
    int st;
    cJSON_Delete(emu_ctl(t, "POST", "/_emu/script", body, &st));
    ck_assert_int_eq(st, 200);
}

static void emu_config(tctx *t, const char *body)
{
    int st;
    cJSON_Delete(emu_ctl(t, "POST", "/_emu/config", body, &st));
    ck_assert_int_eq(st, 200);
}

/* The queries of the logged requests of one route, oldest first (caller frees). */
static cJSON *logged_queries(tctx *t, const char *route)
{
    cJSON *log = emu_ctl(t, "GET", "/_emu/log", NULL, NULL);
    cJSON *out = cJSON_CreateArray();
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(log, "data")) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(e, "route");
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(e, "query");
        if (cJSON_IsString(r) && strcmp(r->valuestring, route) == 0)
            cJSON_AddItemToArray(out, cJSON_CreateString(cJSON_IsString(q) ? q->valuestring : ""));
    }
    cJSON_Delete(log);
    return out;
}

static const char *query_at(const cJSON *qs, int i)
{
    const cJSON *q = cJSON_GetArrayItem(qs, i);
    return cJSON_IsString(q) ? q->valuestring : "";
}

static nna_future *run_query(tctx *t, const char *agent, const char *q)
{
    nna_run_options ro;
    nna_run_options_init(&ro);
    ro.query = q;
    return nna_agents_run(t->client, agent, &ro);
}

/* Starts a run and returns its task id (static buffer per call site). */
static void start_run(tctx *t, const char *agent, const char *q, char id[40])
{
    nna_future *f = run_query(t, agent, q);
    expect(t, f, NNA_OK);
    const nna_task *task = nna_future_result(f);
    snprintf(id, 40, "%s", task->task_id);
    nna_future_unref(f);
}

static void fast_wait(nna_wait_options *o)
{
    nna_wait_options_init(o);
    o->interval = 0.03;
    o->max_interval = 0.1;
    o->deadline = 20;
}

/* ---- agents ------------------------------------------------------------------------- */

START_TEST(agents_every_endpoint)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_agent_create_options co;
    nna_agent_create_options_init(&co);
    co.name = "Invoice reader";
    co.config_json = "{\"system_prompt\":\"Read invoices.\",\"tools\":[\"ocr\"],\"x_opaque\":{\"k\":1}}";
    nna_future *f = nna_agents_create(t.client, &co);
    expect(&t, f, NNA_OK);
    const nna_agent *a = nna_future_result(f);
    ck_assert_str_eq(a->name, "Invoice reader");
    ck_assert_int_eq(a->status, NNA_AGENT_PUBLISHED);
    ck_assert_int_eq(a->version_number, 1);
    ck_assert_int_eq(a->is_active, 1);
    ck_assert_str_eq(a->system_prompt, "Read invoices.");
    ck_assert(!isnan(a->created_at));
    ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(a->config, "x_opaque"));
    char id[40], group[40];
    snprintf(id, sizeof id, "%s", a->id);
    snprintf(group, sizeof group, "%s", a->agent_group_id);
    nna_future_unref(f);

    /* create is never re-sent blindly: a 500 leaves the outcome unknown */
    script(&t, "{\"route\":\"agents.create\",\"responses\":[{\"status\":500,\"json\":{\"error\":\"boom\"}}]}");
    f = nna_agents_create(t.client, NULL);
    expect(&t, f, NNA_EOUTCOME_UNKNOWN);
    ck_assert_uint_eq(nna_future_attempts(f), 1);
    nna_future_unref(f);

    f = nna_agents_get(t.client, id);
    expect(&t, f, NNA_OK);
    a = nna_future_result(f);
    ck_assert_str_eq(a->id, id);
    ck_assert_str_eq(a->agent_group_id, group);
    nna_future_unref(f);

    nna_agent_update_options uo;
    nna_agent_update_options_init(&uo);
    uo.name = "Invoice reader 2";
    uo.system_prompt = "Read invoices carefully.";
    uo.is_active = 0;
    f = nna_agents_update(t.client, id, &uo);
    expect(&t, f, NNA_OK);
    a = nna_future_result(f);
    ck_assert_str_eq(a->name, "Invoice reader 2");
    ck_assert_str_eq(a->system_prompt, "Read invoices carefully.");
    ck_assert_int_eq(a->is_active, 0);
    ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(a->config, "tools")); /* kept */
    ck_assert_int_eq(a->version_number, 1); /* PATCH makes no version */
    nna_future_unref(f);

    /* PATCH is idempotent: a 503 is retried */
    script(&t, "{\"route\":\"agents.update\",\"responses\":[{\"status\":503}]}");
    nna_agent_update_options_init(&uo);
    uo.is_active = 1;
    f = nna_agents_update(t.client, id, &uo);
    expect(&t, f, NNA_OK);
    ck_assert_uint_eq(nna_future_attempts(f), 2);
    nna_future_unref(f);

    /* publish: 409 without a draft, a new version with one */
    f = nna_agents_publish(t.client, id);
    expect(&t, f, NNA_ECONFLICT);
    nna_future_unref(f);
    char path[96];
    snprintf(path, sizeof path, "/_emu/agents/%s/draft", id);
    int st;
    cJSON_Delete(emu_ctl(&t, "POST", path, "{}", &st));
    ck_assert_int_eq(st, 200);
    f = nna_agents_publish(t.client, id);
    expect(&t, f, NNA_OK);
    a = nna_future_result(f);
    ck_assert_int_eq(a->version_number, 2);
    ck_assert_int_eq(a->status, NNA_AGENT_PUBLISHED);
    ck_assert_str_eq(a->agent_group_id, group);
    ck_assert_ptr_null(a->config);
    char v2[40];
    snprintf(v2, sizeof v2, "%s", a->id);
    nna_future_unref(f);

    f = nna_agents_versions(t.client, v2, NULL);
    expect(&t, f, NNA_OK);
    const nna_agent_page *vp = nna_future_result(f);
    ck_assert_uint_eq(vp->page.count, 2);
    ck_assert_int_eq(vp->items[0].version_number, 2); /* most recent first */
    ck_assert_int_eq(vp->items[1].status, NNA_AGENT_ARCHIVED);
    ck_assert_int_eq(vp->page.has_more, 0);
    ck_assert_ptr_null(vp->page.next_cursor);
    nna_future_unref(f);

    /* list: a page with a filter, then all pages with limit 1 */
    nna_agents_list_options lo;
    nna_agents_list_options_init(&lo);
    lo.q = "READER"; /* case-insensitive */
    f = nna_agents_list(t.client, &lo);
    expect(&t, f, NNA_OK);
    const nna_agent_page *ap = nna_future_result(f);
    ck_assert_uint_eq(ap->page.count, 1);
    ck_assert_str_eq(ap->items[0].id, v2);
    ck_assert_ptr_eq(nna_page_item(&ap->page, 0), ap->items[0].json);
    ck_assert_ptr_null(nna_page_item(&ap->page, 1));
    nna_future_unref(f);

    nna_agents_list_options_init(&lo);
    lo.limit = 1;
    f = nna_agents_list(t.client, &lo);
    expect(&t, f, NNA_OK);
    ap = nna_future_result(f);
    ck_assert_uint_eq(ap->page.count, 1);
    ck_assert(ap->page.has_more);
    ck_assert_ptr_nonnull(ap->page.next_cursor);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

static int agent_items;
static int count_agent(const nna_agent *a, void *ud)
{
    (void)ud;
    ck_assert_ptr_nonnull(a->id);
    agent_items++;
    return 0;
}

START_TEST(agents_walks)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_agents_list_options lo;
    nna_agents_list_options_init(&lo);
    lo.limit = 1;
    lo.status = "draft,published,archived";
    agent_items = 0;
    nna_future *f = nna_agents_walk(t.client, &lo, count_agent, NULL);
    expect(&t, f, NNA_OK);
    const nna_walk_result *r = nna_future_result(f);
    ck_assert_int_eq(agent_items, 3); /* the built-in default workspace has three */
    ck_assert_uint_eq(r->items, 3);
    ck_assert_uint_eq(r->pages, 3);
    ck_assert_int_eq(emu_route_count(&t, "agents.list"), 3);
    nna_future_unref(f);

    agent_items = 0;
    f = nna_agents_versions_walk(t.client, A1, NULL, count_agent, NULL);
    expect(&t, f, NNA_OK);
    ck_assert_int_eq(agent_items, 1);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* ---- tasks -------------------------------------------------------------------------- */

START_TEST(tasks_every_endpoint)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    char id[40];
    start_run(&t, A1, "Summarise the quarterly report", id);

    nna_wait_options wo;
    fast_wait(&wo);
    wo.fetch_summary = 0;
    nna_future *f = nna_tasks_wait(t.client, id, &wo);
    expect(&t, f, NNA_OK);
    ck_assert_int_eq(((const nna_wait_result *)nna_future_result(f))->has_summary, 0);
    ck_assert_int_eq(emu_route_count(&t, "tasks.summary"), 0);
    nna_future_unref(f);

    f = nna_tasks_summary(t.client, id);
    expect(&t, f, NNA_OK);
    const nna_summary *s = nna_future_result(f);
    ck_assert_str_eq(s->task.task_id, id);
    ck_assert_int_eq(s->task.status, NNA_TASK_COMPLETED);
    ck_assert_ptr_nonnull(s->result);
    ck_assert_ptr_nonnull(s->text);
    ck_assert(strstr(s->text, "quarterly") != NULL);
    ck_assert_ptr_null(s->extracted_data); /* plain run */
    nna_future_unref(f);

    f = nna_tasks_result(t.client, id);
    expect(&t, f, NNA_OK);
    const nna_task_result *tr = nna_future_result(f);
    ck_assert_str_eq(tr->task.task_id, id);
    ck_assert(cJSON_IsArray(tr->feed));
    ck_assert_int_gt(cJSON_GetArraySize(tr->feed), 1);
    nna_future_unref(f);

    f = nna_tasks_messages(t.client, id);
    expect(&t, f, NNA_OK);
    const nna_message_list *ml = nna_future_result(f);
    ck_assert_uint_ge(ml->count, 2);
    ck_assert_ptr_nonnull(ml->items[0].user_id);          /* the query, from the user */
    ck_assert_str_eq(ml->items[0].text, "Summarise the quarterly report");
    const nna_message *last = nna_message_list_latest_agent(ml);
    ck_assert_ptr_null(last->user_id);
    ck_assert_ptr_nonnull(last->content);
    ck_assert(!isnan(last->created_at));
    nna_future_unref(f);

    /* a message to a finished task: 409, sent once */
    f = nna_tasks_send_message(t.client, id, "one more thing");
    expect(&t, f, NNA_ECONFLICT);
    nna_future_unref(f);

    /* cancel is idempotent: a finished task comes back unchanged */
    f = nna_tasks_cancel(t.client, id);
    expect(&t, f, NNA_OK);
    ck_assert_int_eq(((const nna_task *)nna_future_result(f))->status, NNA_TASK_COMPLETED);
    nna_future_unref(f);

    /* send-message to a waiting task, and a 502 after the message was stored: found in the
     * log, not sent twice */
    char ask[40];
    start_run(&t, A2, "Check the totals ASK: which file?", ask);
    f = nna_tasks_send_message(t.client, ask, "use page 2");
    expect(&t, f, NNA_OK);
    const nna_message_ack *ack = nna_future_result(f);
    ck_assert_ptr_nonnull(ack->message_id);
    ck_assert_str_eq(ack->task_id, ask);
    ck_assert(ack->status != NNA_TASK_UNKNOWN);
    nna_future_unref(f);
    script(&t, "{\"route\":\"tasks.message\",\"responses\":[{\"status\":502,\"commit\":true,\"body\":\"<html>bad gateway</html>\"}]}");
    f = nna_tasks_send_message(t.client, ask, "again");
    expect(&t, f, NNA_OK);
    ck_assert(nna_future_reconciled(f));
    ck_assert_uint_eq(nna_future_attempts(f), 1);
    nna_future_unref(f);

    /* cancel a running task */
    char longrun[40];
    emu_config(&t, "{\"task_ms\":5000}");
    start_run(&t, A1, "long one", longrun);
    f = nna_tasks_cancel(t.client, longrun);
    expect(&t, f, NNA_OK);
    ck_assert_int_eq(((const nna_task *)nna_future_result(f))->status, NNA_TASK_STOPPED);
    nna_future_unref(f);

    /* list with filters */
    nna_tasks_list_options lo;
    nna_tasks_list_options_init(&lo);
    lo.agent_id = A1;
    lo.status = "stopped";
    f = nna_tasks_list(t.client, &lo);
    expect(&t, f, NNA_OK);
    const nna_task_page *tp = nna_future_result(f);
    ck_assert_uint_eq(tp->page.count, 1);
    ck_assert_str_eq(tp->items[0].task_id, longrun);
    ck_assert_ptr_nonnull(tp->items[0].agent_name);
    nna_future_unref(f);

    nna_tasks_list_options_init(&lo);
    lo.q = "quarterly";
    lo.created_after = time(NULL) - 60;
    lo.created_before = time(NULL) + 60;
    f = nna_tasks_list(t.client, &lo);
    expect(&t, f, NNA_OK);
    tp = nna_future_result(f);
    ck_assert_uint_eq(tp->page.count, 1);
    ck_assert_str_eq(tp->items[0].task_id, id);
    nna_future_unref(f);
    cJSON *qs = logged_queries(&t, "tasks.list");
    const char *q = query_at(qs, cJSON_GetArraySize(qs) - 1);
    ck_assert(strstr(q, "created_after=20") != NULL);
    ck_assert(strstr(q, "%3A") != NULL); /* the timestamp's colons are encoded */
    cJSON_Delete(qs);
    tctx_stop(&t);
}
END_TEST

static char *write_temp(const char *content)
{
    char *path = strdup("/tmp/nna_api_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    return path;
}

START_TEST(run_multipart_with_several_files)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    char *files[3] = { write_temp("%PDF-1.4 front"), write_temp("%PDF-1.4 back"),
                       write_temp("line,qty\nA,1\n") };
    nna_run_options ro;
    nna_run_options_init(&ro);
    ro.query = "Match these";
    ro.files = (const char *const *)files;
    ro.nfiles = 3;
    ro.output_config_json = "{\"output_schema\":\"{\\\"total\\\":\\\"number\\\"}\"}";
    nna_future *f = nna_agents_run(t.client, A1, &ro);
    expect(&t, f, NNA_OK);
    char id[40];
    snprintf(id, sizeof id, "%s", ((const nna_task *)nna_future_result(f))->task_id);
    nna_future_unref(f);

    nna_wait_options wo;
    fast_wait(&wo);
    f = nna_tasks_wait(t.client, id, &wo);
    expect(&t, f, NNA_OK);
    const nna_wait_result *r = nna_future_result(f);
    ck_assert(r->has_summary);
    const cJSON *x = r->summary.extracted_data;
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(x, "document_count")->valueint, 3);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(x, "source")->valuestring, "output_config");
    nna_future_unref(f);

    /* files only (no query) is valid too */
    nna_run_options_init(&ro);
    ro.files = (const char *const *)files;
    ro.nfiles = 2;
    f = nna_agents_run(t.client, A1, &ro);
    expect(&t, f, NNA_OK);
    nna_future_unref(f);
    for (int i = 0; i < 3; i++) { unlink(files[i]); free(files[i]); }
    tctx_stop(&t);
}
END_TEST

/* ---- validation --------------------------------------------------------------------- */

static int never(const nna_task *t, void *ud) { (void)t; (void)ud; ck_abort(); return 1; }
static int never_a(const nna_agent *a, void *ud) { (void)a; (void)ud; ck_abort(); return 1; }

START_TEST(validation_sends_nothing)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    int before = emu_requests(&t);
    nna_future *fs[32];
    size_t n = 0;
    fs[n++] = nna_tasks_get(t.client, "not-a-uuid");
    fs[n++] = nna_tasks_summary(t.client, "1234");
    fs[n++] = nna_tasks_result(t.client, NULL);
    fs[n++] = nna_tasks_messages(t.client, "00000000-0000-4000-8000-00000000000");
    fs[n++] = nna_tasks_cancel(t.client, "00000000-0000-4000-8000-0000000000000");
    fs[n++] = nna_tasks_send_message(t.client, NO_SUCH, "");
    fs[n++] = nna_tasks_send_message(t.client, NO_SUCH, NULL);
    fs[n++] = nna_tasks_send_message(t.client, "zz", "hello");
    nna_tasks_list_options lo;
    nna_tasks_list_options_init(&lo);
    lo.limit = 101;
    fs[n++] = nna_tasks_list(t.client, &lo);
    fs[n++] = nna_tasks_walk(t.client, &lo, never, NULL);
    nna_tasks_list_options_init(&lo);
    lo.agent_id = "nope";
    fs[n++] = nna_tasks_list(t.client, &lo);
    nna_tasks_list_options_init(&lo);
    lo.status = "running,,queued";
    fs[n++] = nna_tasks_list(t.client, &lo);
    fs[n++] = nna_tasks_walk(t.client, NULL, NULL, NULL);
    nna_agents_list_options al;
    nna_agents_list_options_init(&al);
    al.limit = 1000;
    fs[n++] = nna_agents_list(t.client, &al);
    fs[n++] = nna_agents_walk(t.client, &al, never_a, NULL);
    nna_page_options po;
    nna_page_options_init(&po);
    po.limit = 500;
    fs[n++] = nna_agents_versions(t.client, A1, &po);
    fs[n++] = nna_agents_versions_walk(t.client, "x", NULL, never_a, NULL);
    nna_agent_create_options co;
    nna_agent_create_options_init(&co);
    co.config_json = "[1,2]";
    fs[n++] = nna_agents_create(t.client, &co);
    co.config_json = "{not json";
    fs[n++] = nna_agents_create(t.client, &co);
    nna_agent_create_options_init(&co);
    co.name = "";
    fs[n++] = nna_agents_create(t.client, &co);
    nna_agent_update_options uo;
    nna_agent_update_options_init(&uo);
    uo.config_json = "\"str\"";
    fs[n++] = nna_agents_update(t.client, A1, &uo);
    fs[n++] = nna_agents_update(t.client, "A1", NULL);
    fs[n++] = nna_agents_get(t.client, "");
    fs[n++] = nna_agents_publish(t.client, "11111111-1111-4111-8111-11111111111g");
    nna_wait_options wo;
    nna_wait_options_init(&wo);
    fs[n++] = nna_tasks_wait(t.client, "bad", &wo);
    wo.interval = 0;
    fs[n++] = nna_tasks_wait(t.client, NO_SUCH, &wo);
    nna_run_options ro;
    nna_run_options_init(&ro);
    fs[n++] = nna_agents_run(t.client, A1, &ro); /* no query, no files */
    nna_watch *w;
    ck_assert_int_eq(nna_watch_new(t.client, NULL, &w), NNA_OK);
    fs[n++] = nna_watch_add(w, "bad", A1, NAN);
    fs[n++] = nna_watch_add(w, NO_SUCH, "bad", NAN);
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(fs[i]);
        ck_assert_int_eq(nna_future_done(fs[i]), 1); /* failed at once ... */
    }
    nna_future *all = nna_future_all(fs, n);
    done(&t, all);
    for (size_t i = 0; i < n; i++) {
        if (nna_future_status(fs[i]) != NNA_EINVAL)
            ck_abort_msg("call %zu: %s", i, nna_status_name(nna_future_status(fs[i])));
        ck_assert_uint_eq(nna_future_attempts(fs[i]), 0);
        nna_future_unref(fs[i]);
    }
    nna_future_unref(all);
    ck_assert_int_eq(emu_requests(&t), before); /* ... and sent nothing */
    ck_assert_int_eq(nna_watch_pending(w), 0);
    nna_watch_free(w);

    /* an unknown status value in a list filter has the right shape: it is sent */
    nna_tasks_list_options_init(&lo);
    lo.status = "running,queued";
    lo.limit = 100;
    nna_future *f = nna_tasks_list(t.client, &lo);
    expect(&t, f, NNA_OK);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* ---- lenient parsing ---------------------------------------------------------------- */

START_TEST(parsing_is_lenient)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    /* unknown fields, nulls, unknown enum values, a 201 */
    script(&t, "{\"route\":\"tasks.get\",\"responses\":[{\"status\":201,\"json\":"
               "{\"task_id\":\"" NO_SUCH "\",\"status\":\"hibernating\",\"title\":null,"
               "\"created_at\":\"2026-05-11T10:15:00.250+02:00\",\"updated_at\":null,"
               "\"agent_id\":null,\"brand_new\":{\"x\":[1,2]}}}]}");
    nna_future *f = nna_tasks_get(t.client, NO_SUCH);
    expect(&t, f, NNA_OK);
    const nna_task *task = nna_future_result(f);
    ck_assert_int_eq(task->status, NNA_TASK_UNKNOWN);
    ck_assert_str_eq(task->status_text, "hibernating");
    ck_assert_ptr_null(task->title);
    ck_assert_ptr_null(task->agent_id);
    ck_assert(isnan(task->updated_at));
    ck_assert(fabs(task->created_at - (1778494500.25 - 7200)) < 1e-6);
    nna_future_unref(f);

    /* summary: result a string; extracted_data at top level */
    script(&t, "{\"route\":\"tasks.summary\",\"responses\":["
               "{\"status\":200,\"json\":{\"status\":\"completed\",\"result\":\"All good\","
               "\"extracted_data\":{\"a\":1}}},"
               "{\"status\":200,\"json\":{\"task_id\":\"" NO_SUCH "\",\"status\":\"running\"}},"
               "{\"status\":200,\"json\":{\"result\":{\"summary\":\"S\",\"extracted_data\":{\"b\":2}},"
               "\"extracted_data\":{\"a\":1}}}]}");
    f = nna_tasks_summary(t.client, NO_SUCH);
    expect(&t, f, NNA_OK);
    const nna_summary *s = nna_future_result(f);
    ck_assert_str_eq(s->text, "All good");
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(s->extracted_data, "a")->valueint, 1);
    ck_assert_ptr_null(s->task.task_id);
    nna_future_unref(f);
    f = nna_tasks_summary(t.client, NO_SUCH);
    expect(&t, f, NNA_OK);
    s = nna_future_result(f);
    ck_assert_ptr_null(s->result);
    ck_assert_ptr_null(s->text);
    ck_assert_ptr_null(s->extracted_data);
    nna_future_unref(f);
    f = nna_tasks_summary(t.client, NO_SUCH);
    expect(&t, f, NNA_OK);
    s = nna_future_result(f);
    ck_assert_str_eq(s->text, "S");
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(s->extracted_data, "b")->valueint, 2);
    nna_future_unref(f);

    /* messages: structured content, no user_id anywhere, extra pagination fields */
    script(&t, "{\"route\":\"tasks.messages\",\"responses\":[{\"status\":200,\"json\":"
               "{\"data\":[{\"id\":\"m1\",\"content\":\"q\"},{\"id\":\"m2\",\"content\":{\"k\":1},"
               "\"user_id\":null}],\"has_more\":false}}]}");
    f = nna_tasks_messages(t.client, NO_SUCH);
    expect(&t, f, NNA_OK);
    const nna_message_list *ml = nna_future_result(f);
    ck_assert_uint_eq(ml->count, 2);
    ck_assert_str_eq(ml->items[0].text, "q");
    ck_assert_ptr_null(ml->items[1].text);
    ck_assert(cJSON_IsObject(ml->items[1].content));
    ck_assert_str_eq(nna_message_list_latest_agent(ml)->id, "m2");
    nna_future_unref(f);

    /* a body of the wrong shape is a protocol error */
    script(&t, "{\"route\":\"tasks.get\",\"responses\":[{\"status\":200,\"json\":[1,2]}]}");
    f = nna_tasks_get(t.client, NO_SUCH);
    expect(&t, f, NNA_EPROTOCOL);
    nna_future_unref(f);
    script(&t, "{\"route\":\"agents.list\",\"responses\":[{\"status\":200,\"json\":{\"data\":{}}}]}");
    f = nna_agents_list(t.client, NULL);
    expect(&t, f, NNA_EPROTOCOL);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* ---- pagination edge cases ---------------------------------------------------------- */

#define ITEM(n) "{\"task_id\":\"00000000-0000-4000-8000-00000000000" #n "\",\"status\":\"completed\"}"
#define AGENT(n) "{\"id\":\"00000000-0000-4000-8000-00000000000" #n "\",\"status\":\"published\"}"

typedef struct collect {
    int  n;
    char ids[32][40];
    int  stop_after;   /* 0 = never */
} collect;

static int collect_task(const nna_task *t, void *ud)
{
    collect *c = ud;
    if (c->n < 32) snprintf(c->ids[c->n], 40, "%s", t->task_id);
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

static int collect_agent(const nna_agent *a, void *ud)
{
    collect *c = ud;
    if (c->n < 32) snprintf(c->ids[c->n], 40, "%s", a->id);
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

static nna_future *walk_tasks(tctx *t, collect *c)
{
    memset(c, 0, sizeof *c);
    nna_tasks_list_options lo;
    nna_tasks_list_options_init(&lo);
    lo.agent_id = A1;
    lo.q = "x y";
    return nna_tasks_walk(t->client, &lo, collect_task, c);
}

START_TEST(walk_follows_empty_pages_and_stops_on_every_end_signal)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    collect c;
    /* an empty page that still has a cursor goes on; has_more false ends despite a cursor */
    script(&t, "{\"route\":\"tasks.list\",\"responses\":["
               "{\"status\":200,\"json\":{\"data\":[" ITEM(1) "],\"has_more\":true,\"next_cursor\":\"c1:+/=\"}},"
               "{\"status\":200,\"json\":{\"data\":[],\"has_more\":true,\"next_cursor\":\"B\"}},"
               "{\"status\":200,\"json\":{\"data\":[" ITEM(2) "],\"has_more\":false,\"next_cursor\":\"C\"}}]}");
    nna_future *f = walk_tasks(&t, &c);
    expect(&t, f, NNA_OK);
    ck_assert_int_eq(c.n, 2);
    ck_assert_str_eq(c.ids[1], "00000000-0000-4000-8000-000000000002");
    const nna_walk_result *r = nna_future_result(f);
    ck_assert_uint_eq(r->pages, 3);
    ck_assert_uint_eq(r->items, 2);
    nna_future_unref(f);
    cJSON *qs = logged_queries(&t, "tasks.list");
    ck_assert_int_eq(cJSON_GetArraySize(qs), 3);
    ck_assert(strstr(query_at(qs, 0), "cursor=") == NULL);        /* first page: none */
    ck_assert(strstr(query_at(qs, 1), "cursor=c1%3A%2B%2F%3D") != NULL); /* verbatim, encoded */
    ck_assert(strstr(query_at(qs, 2), "cursor=B") != NULL);
    for (int i = 0; i < 3; i++) {                                  /* same filters each time */
        ck_assert(strstr(query_at(qs, i), "agent_id=" A1) != NULL);
        ck_assert(strstr(query_at(qs, i), "q=x%20y") != NULL);
        ck_assert(strstr(query_at(qs, i), "limit=100") != NULL);   /* bulk default */
    }
    cJSON_Delete(qs);

    /* next_cursor null, absent, "" each end the walk, whatever has_more says */
    const char *ends[] = { "\"has_more\":true,\"next_cursor\":null", "\"has_more\":true",
                           "\"has_more\":true,\"next_cursor\":\"\"" };
    for (int i = 0; i < 3; i++) {
        char body[512];
        snprintf(body, sizeof body, "{\"route\":\"tasks.list\",\"responses\":["
                 "{\"status\":200,\"json\":{\"data\":[" ITEM(3) "],%s}}]}", ends[i]);
        script(&t, body);
        int before = emu_route_count(&t, "tasks.list");
        f = walk_tasks(&t, &c);
        expect(&t, f, NNA_OK);
        ck_assert_int_eq(c.n, 1);
        ck_assert_int_eq(emu_route_count(&t, "tasks.list"), before + 1);
        nna_future_unref(f);
    }
    tctx_stop(&t);
}
END_TEST

START_TEST(walk_detects_repeated_cursors_and_cycles)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    collect c;
    /* the same cursor twice */
    script(&t, "{\"route\":\"tasks.list\",\"responses\":["
               "{\"status\":200,\"json\":{\"data\":[" ITEM(1) "],\"has_more\":true,\"next_cursor\":\"A\"}},"
               "{\"status\":200,\"json\":{\"data\":[" ITEM(2) "],\"has_more\":true,\"next_cursor\":\"A\"}}]}");
    nna_future *f = walk_tasks(&t, &c);
    expect(&t, f, NNA_ECURSOR_LOOP);
    ck_assert_int_eq(c.n, 2); /* the items before the loop were delivered */
    ck_assert_int_eq(emu_route_count(&t, "tasks.list"), 2);
    const nna_walk_result *r = nna_future_result(f);
    ck_assert_uint_eq(r->items, 2);
    nna_future_unref(f);

    /* a cycle A → B → A on the agents list */
    script(&t, "{\"route\":\"agents.list\",\"responses\":["
               "{\"status\":200,\"json\":{\"data\":[" AGENT(1) "],\"has_more\":true,\"next_cursor\":\"A\"}},"
               "{\"status\":200,\"json\":{\"data\":[" AGENT(2) "],\"has_more\":true,\"next_cursor\":\"B\"}},"
               "{\"status\":200,\"json\":{\"data\":[" AGENT(3) "],\"has_more\":true,\"next_cursor\":\"A\"}}]}");
    memset(&c, 0, sizeof c);
    f = nna_agents_walk(t.client, NULL, collect_agent, &c);
    expect(&t, f, NNA_ECURSOR_LOOP);
    ck_assert_int_eq(c.n, 3);
    ck_assert_int_eq(emu_route_count(&t, "agents.list"), 3);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

START_TEST(walk_retries_a_failed_page_with_the_same_cursor)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    collect c;
    script(&t, "{\"route\":\"tasks.list\",\"responses\":["
               "{\"status\":200,\"json\":{\"data\":[" ITEM(1) "],\"has_more\":true,\"next_cursor\":\"K+1\"}},"
               "{\"status\":500,\"json\":{\"error\":\"boom\"}},"
               "{\"status\":429,\"json\":{\"error\":\"slow\"},\"headers\":{\"Retry-After\":\"0\"}},"
               "{\"status\":200,\"json\":{\"data\":[" ITEM(2) "],\"has_more\":false,\"next_cursor\":null}}]}");
    nna_future *f = walk_tasks(&t, &c);
    expect(&t, f, NNA_OK);
    ck_assert_int_eq(c.n, 2);
    cJSON *qs = logged_queries(&t, "tasks.list");
    ck_assert_int_eq(cJSON_GetArraySize(qs), 4);
    for (int i = 1; i < 4; i++) ck_assert(strstr(query_at(qs, i), "cursor=K%2B1") != NULL);
    cJSON_Delete(qs);
    nna_future_unref(f);

    /* a page that keeps failing ends the walk with its status, keeping the counts */
    script(&t, "{\"route\":\"tasks.list\",\"responses\":["
               "{\"status\":200,\"json\":{\"data\":[" ITEM(1) "],\"has_more\":true,\"next_cursor\":\"Z\"}},"
               "{\"status\":404,\"json\":{\"error\":\"gone\"}}]}");
    f = walk_tasks(&t, &c);
    expect(&t, f, NNA_ENOT_FOUND);
    ck_assert_int_eq(c.n, 1);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

START_TEST(versions_without_pagination_fields_are_complete)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    script(&t, "{\"route\":\"agents.versions\",\"responses\":["
               "{\"status\":200,\"json\":{\"data\":[" AGENT(2) "," AGENT(1) "]}},"
               "{\"status\":200,\"json\":{\"data\":[" AGENT(2) "," AGENT(1) "]}}]}");
    collect c;
    memset(&c, 0, sizeof c);
    nna_future *f = nna_agents_versions_walk(t.client, A1, NULL, collect_agent, &c);
    expect(&t, f, NNA_OK);
    ck_assert_int_eq(c.n, 2);
    ck_assert_int_eq(emu_route_count(&t, "agents.versions"), 1);
    nna_future_unref(f);
    f = nna_agents_versions(t.client, A1, NULL);
    expect(&t, f, NNA_OK);
    const nna_agent_page *p = nna_future_result(f);
    ck_assert_uint_eq(p->page.count, 2);
    ck_assert_int_eq(p->page.has_more, 0);
    nna_future_unref(f);

    /* has_more absent with a cursor: followed */
    script(&t, "{\"route\":\"agents.versions\",\"responses\":["
               "{\"status\":200,\"json\":{\"data\":[" AGENT(2) "],\"next_cursor\":\"v\"}},"
               "{\"status\":200,\"json\":{\"data\":[" AGENT(1) "]}}]}");
    memset(&c, 0, sizeof c);
    f = nna_agents_versions_walk(t.client, A1, NULL, collect_agent, &c);
    expect(&t, f, NNA_OK);
    ck_assert_int_eq(c.n, 2);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

START_TEST(walk_stops_when_the_callback_says_so_and_prefetches)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    /* 250 real tasks, limit 100: three pages */
    nna_future *fs[250];
    for (int i = 0; i < 250; i++) fs[i] = run_query(&t, A2, "fan");
    nna_future *all = nna_future_all(fs, 250);
    expect(&t, all, NNA_OK);
    for (int i = 0; i < 250; i++) nna_future_unref(fs[i]);
    nna_future_unref(all);

    collect c;
    memset(&c, 0, sizeof c);
    nna_tasks_list_options lo;
    nna_tasks_list_options_init(&lo);
    lo.agent_id = A2;
    nna_future *f = nna_tasks_walk(t.client, &lo, collect_task, &c);
    expect(&t, f, NNA_OK);
    ck_assert_int_eq(c.n, 250);
    ck_assert_uint_eq(((const nna_walk_result *)nna_future_result(f))->pages, 3);
    nna_future_unref(f);

    /* stop inside the first page: the walk settles OK/stopped, and at most the prefetched
     * second page was requested */
    int before = emu_route_count(&t, "tasks.list");
    memset(&c, 0, sizeof c);
    c.stop_after = 5;
    f = nna_tasks_walk(t.client, &lo, collect_task, &c);
    expect(&t, f, NNA_OK);
    const nna_walk_result *r = nna_future_result(f);
    ck_assert_int_eq(c.n, 5);
    ck_assert_int_eq(r->stopped, 1);
    ck_assert_uint_eq(r->items, 5);
    int after = emu_route_count(&t, "tasks.list");
    ck_assert_int_le(after - before, 2);
    nna_future_unref(f);

    /* a single page call passes the cursor back */
    nna_tasks_list_options_init(&lo);
    lo.agent_id = A2;
    lo.limit = 100;
    f = nna_tasks_list(t.client, &lo);
    expect(&t, f, NNA_OK);
    const nna_task_page *p = nna_future_result(f);
    ck_assert_uint_eq(p->page.count, 100);
    ck_assert(p->page.has_more);
    lo.cursor = p->page.next_cursor;
    nna_future *g = nna_tasks_list(t.client, &lo);
    nna_future_unref(f); /* the cursor was copied */
    expect(&t, g, NNA_OK);
    ck_assert_uint_eq(((const nna_task_page *)nna_future_result(g))->page.count, 100);
    nna_future_unref(g);
    tctx_stop(&t);
}
END_TEST

static nna_future *walk_to_cancel;
static int cancel_in_cb(const nna_task *t, void *ud)
{
    (void)t;
    int *n = ud;
    if (++*n == 2) nna_future_cancel(walk_to_cancel);
    return 0;
}

START_TEST(walk_cancel_and_shutdown)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    script(&t, "{\"route\":\"tasks.list\",\"responses\":["
               "{\"status\":200,\"json\":{\"data\":[" ITEM(1) "," ITEM(2) "," ITEM(3) "],\"has_more\":true,\"next_cursor\":\"A\"}},"
               "{\"status\":200,\"json\":{\"data\":[" ITEM(4) "],\"has_more\":false}}]}");
    int n = 0;
    walk_to_cancel = nna_tasks_walk(t.client, NULL, cancel_in_cb, &n);
    expect(&t, walk_to_cancel, NNA_ECANCELLED);
    ck_assert_int_eq(n, 2); /* nothing after the cancel */
    nna_future_unref(walk_to_cancel);
    int flag = 0;
    run_until_flag(t.loop, &flag, 0.2); /* let the aborted prefetch reach the server first */
    cJSON_Delete(emu_ctl(&t, "DELETE", "/_emu/script", NULL, NULL));

    /* shutdown while a walk waits on a slow page */
    script(&t, "{\"route\":\"tasks.list\",\"responses\":[{\"pass\":true,\"delay_ms\":2000}]}");
    collect c;
    nna_future *f = walk_tasks(&t, &c);
    run_until_done(t.loop, f, 0.1);
    ck_assert(!nna_future_done(f));
    tctx_stop(&t);
    ck_assert_int_eq(nna_future_status(f), NNA_ESHUTDOWN);
    nna_future_unref(f);
}
END_TEST

/* ---- waiting ------------------------------------------------------------------------ */

static nna_future *wait_for(tctx *t, const char *query, nna_wait_options *wo, char id[40])
{
    start_run(t, A1, query, id);
    return nna_tasks_wait(t->client, id, wo);
}

START_TEST(wait_completed_failed_review)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_wait_options wo;
    fast_wait(&wo);
    char id[40];
    nna_future *f = wait_for(&t, "Summarise", &wo, id);
    expect(&t, f, NNA_OK);
    const nna_wait_result *r = nna_future_result(f);
    ck_assert_int_eq(r->task.status, NNA_TASK_COMPLETED);
    ck_assert_str_eq(r->task.task_id, id);
    ck_assert(r->has_summary);
    ck_assert_ptr_nonnull(r->summary.text);
    ck_assert_uint_ge(r->polls, 2);
    ck_assert_int_eq(emu_route_count(&t, "tasks.summary"), 1); /* once, never polled */
    nna_future_unref(f);

    f = wait_for(&t, "please FAIL", &wo, id);
    expect(&t, f, NNA_ETASK_FAILED);
    r = nna_future_result(f);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->task.status, NNA_TASK_FAILED);
    ck_assert(!r->has_summary);
    nna_future_unref(f);

    f = wait_for(&t, "needs REVIEW", &wo, id);
    expect(&t, f, NNA_EREVIEW);
    r = nna_future_result(f);
    ck_assert_int_eq(r->task.status, NNA_TASK_AWAITING_REVIEW);
    nna_future_unref(f);

    /* 503s and 429s during polling are retried by each poll, the wait goes on */
    script(&t, "{\"route\":\"tasks.get\",\"responses\":[{\"status\":503},"
               "{\"status\":429,\"headers\":{\"Retry-After\":\"0\"}},{\"status\":500}]}");
    f = wait_for(&t, "Summarise again", &wo, id);
    expect(&t, f, NNA_OK);
    nna_future_unref(f);

    /* an already finished task: one poll, then the summary */
    int polls = emu_route_count(&t, "tasks.get");
    f = nna_tasks_wait(t.client, id, NULL);
    expect(&t, f, NNA_OK);
    ck_assert_int_eq(emu_route_count(&t, "tasks.get"), polls + 1);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

typedef struct input_ctx {
    nna_input_action action;
    const char *answer;
    int calls;
    char question[256];
} input_ctx;

static nna_input_action on_input(const nna_task *task, const nna_message *q, const char **answer,
                                 void *ud)
{
    input_ctx *ic = ud;
    ic->calls++;
    ck_assert_int_eq(task->status, NNA_TASK_WAITING_FOR_INPUT);
    ck_assert_ptr_nonnull(q);
    ck_assert_ptr_null(q->user_id);
    snprintf(ic->question, sizeof ic->question, "%s", q->text ? q->text : "");
    *answer = ic->answer;
    return ic->action;
}

START_TEST(wait_for_input_answered_cancelled_unanswered)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_wait_options wo;
    fast_wait(&wo);
    char id[40];

    /* no callback: the wait reports it */
    nna_future *f = wait_for(&t, "Reconcile ASK: which?", &wo, id);
    expect(&t, f, NNA_EINPUT_NEEDED);
    ck_assert_int_eq(((const nna_wait_result *)nna_future_result(f))->task.status,
                     NNA_TASK_WAITING_FOR_INPUT);
    nna_future_unref(f);

    /* answered: posted once, then polled to completion */
    input_ctx ic = { NNA_INPUT_ANSWER, "Use page 2", 0, "" };
    char answer[32];
    snprintf(answer, sizeof answer, "Use page 2");
    ic.answer = answer;
    wo.on_input = on_input;
    wo.input_user_data = &ic;
    f = wait_for(&t, "Reconcile ASK: which?", &wo, id);
    expect(&t, f, NNA_OK);
    const nna_wait_result *r = nna_future_result(f);
    ck_assert_int_eq(ic.calls, 1);
    ck_assert(strstr(ic.question, "ASK:") != NULL);
    ck_assert_uint_eq(r->answers, 1);
    ck_assert(r->has_summary);
    ck_assert_int_eq(emu_route_count(&t, "tasks.message"), 1);
    nna_future_unref(f);
    /* the answer text reached the task */
    f = nna_tasks_messages(t.client, id);
    expect(&t, f, NNA_OK);
    const nna_message_list *ml = nna_future_result(f);
    int found = 0;
    for (size_t i = 0; i < ml->count; i++)
        if (ml->items[i].text && strcmp(ml->items[i].text, "Use page 2") == 0) found = 1;
    ck_assert(found);
    nna_future_unref(f);

    /* cancel: the task is stopped */
    ic = (input_ctx){ NNA_INPUT_CANCEL, NULL, 0, "" };
    f = wait_for(&t, "Reconcile ASK: which?", &wo, id);
    expect(&t, f, NNA_ETASK_STOPPED);
    ck_assert_int_eq(ic.calls, 1);
    ck_assert_int_eq(emu_route_count(&t, "tasks.cancel"), 1);
    nna_future_unref(f);

    /* give up */
    ic = (input_ctx){ NNA_INPUT_GIVE_UP, NULL, 0, "" };
    f = wait_for(&t, "Reconcile ASK: which?", &wo, id);
    expect(&t, f, NNA_EINPUT_NEEDED);
    ck_assert_int_eq(ic.calls, 1);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

static void release(nna_future *f, void *ud)
{
    (void)ud;
    nna_future_unref(f);
}

START_TEST(wait_stopped_cancelled_deadline_shutdown)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    emu_config(&t, "{\"task_ms\":60000}");
    nna_wait_options wo;
    fast_wait(&wo);
    char id[40];

    /* stopped: cancelled by someone else while we wait */
    nna_future *f = wait_for(&t, "long", &wo, id);
    run_until_done(t.loop, f, 0.2);
    ck_assert(!nna_future_done(f));
    nna_future *c = nna_tasks_cancel(t.client, id);
    nna_future_then(c, release, NULL);
    expect(&t, f, NNA_ETASK_STOPPED);
    ck_assert_int_eq(((const nna_wait_result *)nna_future_result(f))->task.status, NNA_TASK_STOPPED);
    nna_future_unref(f);

    /* cancelling the wait stops polling at once */
    f = wait_for(&t, "long", &wo, id);
    run_until_done(t.loop, f, 0.2);
    ck_assert_int_eq(nna_future_cancel(f), NNA_OK);
    ck_assert_int_eq(nna_future_status(f), NNA_ECANCELLED);
    int polls = emu_route_count(&t, "tasks.get");
    run_until_done(t.loop, f, 0.3);
    ck_assert_int_eq(emu_route_count(&t, "tasks.get"), polls);
    nna_future_unref(f);

    /* the wait's own deadline */
    wo.deadline = 0.2;
    f = wait_for(&t, "long", &wo, id);
    expect(&t, f, NNA_EDEADLINE);
    ck_assert_ptr_null(nna_future_result(f)); /* future.h: no result on a deadline */
    nna_future_unref(f);

    /* shutdown while the wait sleeps between polls */
    fast_wait(&wo);
    wo.interval = 5;
    wo.max_interval = 5;
    f = wait_for(&t, "long", &wo, id);
    run_until_done(t.loop, f, 0.2);
    ck_assert(!nna_future_done(f));
    tctx_stop(&t);
    ck_assert_int_eq(nna_future_status(f), NNA_ESHUTDOWN);
    nna_future_unref(f);
}
END_TEST

/* ---- bulk watch --------------------------------------------------------------------- */

typedef struct fanout {
    nna_watch  *w;
    nna_future **watched;
    int         created, failed, settled;
} fanout;

static fanout *fan_ctx;

static void on_watched(nna_future *f, void *ud)
{
    (void)f;
    (void)ud;
    fan_ctx->settled++;
}

static void on_run(nna_future *f, void *ud)
{
    int i = (int)(long)ud;
    fanout *fo = fan_ctx;
    if (nna_future_status(f) != NNA_OK) { fo->failed++; nna_future_unref(f); return; }
    fo->created++;
    fo->watched[i] = nna_watch_add_task(fo->w, nna_future_result(f));
    ck_assert_ptr_nonnull(fo->watched[i]);
    nna_future_then(fo->watched[i], on_watched, NULL);
    nna_future_unref(f);
}

START_TEST(watch_fan_out_of_1000_runs_costs_under_2_5_requests_per_task)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    emu_config(&t, "{\"task_ms\":1500}");
    enum { N = 1000 };
    fanout fo = { 0 };
    fo.watched = calloc(N, sizeof *fo.watched);
    fan_ctx = &fo;
    ck_assert_int_eq(nna_watch_new(t.client, NULL, &fo.w), NNA_OK);
    int before = emu_requests(&t);
    for (int i = 0; i < N; i++) {
        nna_future *f = run_query(&t, i % 2 ? A1 : A2, i % 50 == 7 ? "fan FAIL" : "fan out");
        nna_future_then(f, on_run, (void *)(long)i);
    }
    int all_done = 0;
    for (int s = 0; s < 600 && !all_done; s++) {
        run_until_flag(t.loop, &all_done, 0.1);
        all_done = fo.created + fo.failed == N && fo.settled == fo.created;
    }
    ck_assert_int_eq(fo.failed, 0);
    ck_assert_int_eq(fo.settled, N);
    int ok = 0, failed = 0;
    for (int i = 0; i < N; i++) {
        nna_status st = nna_future_status(fo.watched[i]);
        const nna_wait_result *r = nna_future_result(fo.watched[i]);
        ck_assert_ptr_nonnull(r);
        if (st == NNA_OK) {
            ok++;
            ck_assert(r->has_summary);
            ck_assert_ptr_nonnull(r->summary.text);
        } else {
            ck_assert_int_eq(st, NNA_ETASK_FAILED);
            failed++;
        }
        nna_future_unref(fo.watched[i]);
    }
    ck_assert_int_eq(failed, N / 50);
    int requests = emu_requests(&t) - before;
    double per_task = (double)requests / N;
    fprintf(stderr, "watch: %d runs, %d requests (%d list pages, %d task reads, %d summaries): "
            "%.3f requests per task\n", N, requests, emu_route_count(&t, "tasks.list"),
            emu_route_count(&t, "tasks.get"), emu_route_count(&t, "tasks.summary"), per_task);
    ck_assert_int_eq(emu_route_count(&t, "tasks.summary"), ok);
    ck_assert(per_task < 2.5);
    ck_assert_uint_eq(nna_watch_pending(fo.w), 0);
    nna_watch_free(fo.w);
    free(fo.watched);
    tctx_stop(&t);
}
END_TEST

START_TEST(watch_falls_back_and_reports_outcomes)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_watch_options wopt;
    nna_watch_options_init(&wopt);
    wopt.interval = 0.05;
    wopt.max_interval = 0.1;
    nna_watch *w;
    ck_assert_int_eq(nna_watch_new(t.client, &wopt, &w), NNA_OK);
    char done_id[40], fail_id[40], ask_id[40], review_id[40], nan_id[40];
    start_run(&t, A1, "plain", done_id);
    start_run(&t, A1, "FAIL please", fail_id);
    start_run(&t, A1, "ASK: what", ask_id);
    start_run(&t, A2, "REVIEW me", review_id);
    start_run(&t, A2, "no time known", nan_id);
    double now = (double)time(NULL);
    nna_future *f[5];
    f[0] = nna_watch_add(w, done_id, A1, now);
    f[1] = nna_watch_add(w, fail_id, A1, now);
    f[2] = nna_watch_add(w, ask_id, A1, now);
    f[3] = nna_watch_add(w, review_id, A2, now);
    f[4] = nna_watch_add(w, nan_id, A2, NAN);            /* read by GET /tasks/{id} */
    nna_future *dup = nna_watch_add(w, done_id, A1, now);
    expect(&t, dup, NNA_EBUSY);
    nna_future_unref(dup);
    ck_assert_uint_eq(nna_watch_pending(w), 5);
    nna_future *all = nna_future_all(f, 5);
    done(&t, all);
    nna_future_unref(all);
    ck_assert_int_eq(nna_future_status(f[0]), NNA_OK);
    ck_assert_int_eq(nna_future_status(f[1]), NNA_ETASK_FAILED);
    ck_assert_int_eq(nna_future_status(f[2]), NNA_EINPUT_NEEDED);
    ck_assert_int_eq(nna_future_status(f[3]), NNA_EREVIEW);
    ck_assert_int_eq(nna_future_status(f[4]), NNA_OK);
    ck_assert(((const nna_wait_result *)nna_future_result(f[4]))->has_summary);
    for (int i = 0; i < 5; i++) nna_future_unref(f[i]);
    ck_assert_int_ge(emu_route_count(&t, "tasks.get"), 1);

    /* list items without a status, and a task missing from the list: both read one by one */
    char a[40], b[40];
    start_run(&t, A1, "plain", a);
    start_run(&t, A1, "plain", b);
    char body[512];
    snprintf(body, sizeof body, "{\"route\":\"tasks.list\",\"responses\":[{\"status\":200,"
             "\"json\":{\"data\":[{\"task_id\":\"%s\",\"agent_id\":\"%s\"}],\"has_more\":false}}]}", a, A1);
    script(&t, body);
    int gets = emu_route_count(&t, "tasks.get");
    f[0] = nna_watch_add(w, a, A1, now);
    f[1] = nna_watch_add(w, b, A1, now);
    all = nna_future_all(f, 2);
    expect(&t, all, NNA_OK);
    nna_future_unref(all);
    ck_assert_int_ge(emu_route_count(&t, "tasks.get") - gets, 2);
    nna_future_unref(f[0]);
    nna_future_unref(f[1]);

    /* cancelling one watched task, freeing the watch with one still watched */
    emu_config(&t, "{\"task_ms\":60000}");
    start_run(&t, A1, "slow", a);
    start_run(&t, A1, "slow", b);
    f[0] = nna_watch_add(w, a, A1, now);
    f[1] = nna_watch_add(w, b, A1, now);
    ck_assert_int_eq(nna_future_cancel(f[0]), NNA_OK);
    ck_assert_int_eq(nna_future_status(f[0]), NNA_ECANCELLED);
    ck_assert_uint_eq(nna_watch_pending(w), 1);
    run_until_done(t.loop, f[1], 0.3);
    nna_watch_free(w);
    ck_assert_int_eq(nna_future_status(f[1]), NNA_ECANCELLED);
    nna_future_unref(f[0]);
    nna_future_unref(f[1]);

    /* shutdown with a task watched; the watch is freed after the client */
    ck_assert_int_eq(nna_watch_new(t.client, &wopt, &w), NNA_OK);
    f[0] = nna_watch_add(w, a, A1, now);
    run_until_done(t.loop, f[0], 0.2);
    tctx_stop(&t);
    ck_assert_int_eq(nna_future_status(f[0]), NNA_ESHUTDOWN);
    nna_future_unref(f[0]);
    nna_watch_free(w);
}
END_TEST

static int drained;
static void on_drained(void *ud) { (void)ud; drained = 1; }

START_TEST(draining_shutdown_ends_waits_and_watches)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    emu_config(&t, "{\"task_ms\":60000}");
    char a[40], b[40];
    start_run(&t, A1, "slow", a);
    start_run(&t, A1, "slow", b);
    nna_wait_options wo;
    fast_wait(&wo);
    nna_future *wf = nna_tasks_wait(t.client, a, &wo);
    nna_watch_options wopt;
    nna_watch_options_init(&wopt);
    wopt.interval = 0.05;
    nna_watch *w;
    ck_assert_int_eq(nna_watch_new(t.client, &wopt, &w), NNA_OK);
    nna_future *tf = nna_watch_add(w, b, A1, (double)time(NULL));
    run_until_done(t.loop, wf, 0.2);
    drained = 0;
    nna_client_shutdown(t.client, NNA_SHUTDOWN_DRAIN, on_drained, NULL);
    ck_assert(run_until_flag(t.loop, &drained, 10));
    t.client = NULL;
    ck_assert_int_eq(nna_future_status(wf), NNA_ESHUTDOWN);
    ck_assert_int_eq(nna_future_status(tf), NNA_ESHUTDOWN);
    nna_future_unref(wf);
    nna_future_unref(tf);
    nna_watch_free(w);
    tctx_stop(&t);
}
END_TEST

START_TEST(idle_watch_does_not_keep_the_loop_alive)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_watch *w;
    ck_assert_int_eq(nna_watch_new(t.client, NULL, &w), NNA_OK);
    /* tctx_stop runs the loop until it has nothing to do: an idle watch must not hold it,
     * and nna_watch_free after the client is gone only releases memory */
    tctx_stop(&t);
    nna_watch_free(w);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("endpoints");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, agents_every_endpoint);
    tcase_add_test(tc, agents_walks);
    tcase_add_test(tc, tasks_every_endpoint);
    tcase_add_test(tc, run_multipart_with_several_files);
    tcase_add_test(tc, validation_sends_nothing);
    tcase_add_test(tc, parsing_is_lenient);
    suite_add_tcase(s, tc);
    tc = tcase_create("pagination");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, walk_follows_empty_pages_and_stops_on_every_end_signal);
    tcase_add_test(tc, walk_detects_repeated_cursors_and_cycles);
    tcase_add_test(tc, walk_retries_a_failed_page_with_the_same_cursor);
    tcase_add_test(tc, versions_without_pagination_fields_are_complete);
    tcase_add_test(tc, walk_stops_when_the_callback_says_so_and_prefetches);
    tcase_add_test(tc, walk_cancel_and_shutdown);
    suite_add_tcase(s, tc);
    tc = tcase_create("wait");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, wait_completed_failed_review);
    tcase_add_test(tc, wait_for_input_answered_cancelled_unanswered);
    tcase_add_test(tc, wait_stopped_cancelled_deadline_shutdown);
    suite_add_tcase(s, tc);
    tc = tcase_create("watch");
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, watch_fan_out_of_1000_runs_costs_under_2_5_requests_per_task);
    tcase_add_test(tc, watch_falls_back_and_reports_outcomes);
    tcase_add_test(tc, idle_watch_does_not_keep_the_loop_alive);
    tcase_add_test(tc, draining_shutdown_ends_waits_and_watches);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
