/* nna batch — the crash-safe batch runner.
 *
 * Every input line is one run. All runs are submitted as futures on one loop; the library's
 * per-workspace limiter queues and paces them, retries what may be retried and reconciles
 * run creations whose outcome is in doubt. With --wait the created tasks are watched in bulk
 * (nna_watch: GET /tasks list pages per agent, /summary once per completed task).
 *
 * Crash safety: the journal (OUTPUT.journal) gets a start record before the first run is
 * sent and a task record for every created task before that task shows in the output; both
 * are fdatasync'd (in groups: one write and one sync per loop turn). --resume after a crash
 * or kill -9 cuts a half-written last output line, skips lines that have their output line,
 * reports or watches the tasks the journal has, and looks for the tasks of the remaining
 * lines (their creation may have happened after the last journal write) with GET /tasks
 * since the interrupted run's recorded start before re-sending anything (adopt.c). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "batch.h"

#define MAX_RUNS_OUTSTANDING 100000  /* run futures submitted and not settled */

static const char HELP[] =
"usage: nna batch --input FILE|- --output FILE|- [--wait] [--resume | --force]\n"
"                 [--journal PATH] [--timeout SECONDS]\n"
"\n"
"Runs every line of the input (JSON lines) as one agent run, all through the library's\n"
"per-workspace limiter, and writes one output line per input line.\n"
"\n"
"Input line:  {\"id\": \"your key\", \"agent_id\": \"UUID\", \"query\": \"...\",\n"
"              \"files\": [\"path\", ...], \"output_config\": {...}}\n"
"             (query or files required; id optional, echoed back; blank lines skipped;\n"
"             a line over 1 MiB or with a NUL byte is \"invalid\")\n"
"Output line: {\"line\": N, \"id\": ..., \"task_id\": ..., \"status\": ..., ...}\n"
"             without --wait: the created task (status, agent_id, created_at,\n"
"             reconciled); with --wait: the final status, \"summary\" (and\n"
"             \"extracted_data\" when there is one); on failure \"error\", \"http_status\"\n"
"             and \"code\" (status \"error\", or \"invalid\" for a malformed line, which\n"
"             does not stop the batch). Lines are written as runs finish, not in input\n"
"             order; \"line\" is the input line number.\n"
"\n"
"  --input FILE|-     the runs (- = standard input)\n"
"  --output FILE|-    the results (- = standard output)\n"
"  --wait             wait for every task to finish (bulk watch through GET /tasks)\n"
"  --timeout SECONDS  with --wait: give up on a task after this long (default 600;\n"
"                     0 = none)\n"
"  --journal PATH     the crash journal (default OUTPUT.journal; with --output - there\n"
"                     is none unless given)\n"
"  --resume           continue an interrupted batch (same input): skips lines already\n"
"                     in the output, repairs a half-written last line, and finds the\n"
"                     tasks created before the interruption (GET /tasks since the\n"
"                     recorded start) instead of creating them again. Starts a new\n"
"                     batch when there is nothing to resume. Keeps the --wait mode of\n"
"                     the interrupted batch.\n"
"  --force            start over although the journal says this batch finished\n"
"                     (without it that is refused: every run would be created again)\n"
"\n"
"Nothing is lost and nothing is created twice across a crash or kill -9 at any moment.\n"
"Progress goes to stderr when it is a terminal (--progress/--no-progress), then one\n"
"summary line (JSON). Run creation has no deadline unless --deadline is given.\n"
"Exit code: 0 when every line succeeded (with --wait: completed), else the code of the\n"
"first failed line in input order (1 for a task that failed or was stopped).\n";

/* ---- input --------------------------------------------------------------------------- */

void job_set_invalid(job *j, const char *why)
{
    free(j->invalid);
    j->invalid = xstrdup(why);
}

void job_parse(job *j, const char *text)
{
    cJSON *o = cJSON_Parse(text);
    if (!cJSON_IsObject(o)) {
        job_set_invalid(j, "the line is not a JSON object");
        cJSON_Delete(o);
        return;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    nna_json_span line, v;
    /* The caller's id goes back as written (an id 12345678901234567891 must match). */
    if (id && nna_json_validate(text, strlen(text), &line, NULL, NULL) == 0 &&
        nna_json_member(text, line, "id", &v))
        j->id = raw_json(text + v.off, v.len);
    else if (id)
        j->id = cJSON_Duplicate(id, 1);
    const cJSON *agent = cJSON_GetObjectItemCaseSensitive(o, "agent_id");
    const cJSON *query = cJSON_GetObjectItemCaseSensitive(o, "query");
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(o, "files");
    const cJSON *oc = cJSON_GetObjectItemCaseSensitive(o, "output_config");
    if (!cJSON_IsString(agent) || !is_uuid(agent->valuestring)) {
        job_set_invalid(j, "agent_id is missing or not a UUID");
        goto out;
    }
    j->agent_id = xstrdup(agent->valuestring);
    if (query && !cJSON_IsNull(query)) {
        if (!cJSON_IsString(query)) {
            job_set_invalid(j, "query is not a string");
            goto out;
        }
        if (query->valuestring[0]) j->query = xstrdup(query->valuestring);
    }
    if (files && !cJSON_IsNull(files)) {
        if (!cJSON_IsArray(files)) {
            job_set_invalid(j, "files is not an array of paths");
            goto out;
        }
        size_t n = (size_t)cJSON_GetArraySize(files);
        j->files = xcalloc(n + 1, sizeof *j->files);
        const cJSON *f;
        cJSON_ArrayForEach(f, files) {
            struct stat sb;
            if (!cJSON_IsString(f)) {
                job_set_invalid(j, "files is not an array of paths");
                goto out;
            }
            if (stat(f->valuestring, &sb) != 0 || !S_ISREG(sb.st_mode) ||
                access(f->valuestring, R_OK) != 0) {
                char why[512];
                snprintf(why, sizeof why, "cannot read file %s", f->valuestring);
                job_set_invalid(j, why);
                goto out;
            }
            j->files[j->nfiles++] = xstrdup(f->valuestring);
        }
    }
    if (oc && !cJSON_IsNull(oc)) {
        /* Sent as the line wrote it (an object, or JSON text in a string): a cJSON round
         * trip would re-print its numbers. Checked as strictly as agents create's body. */
        v = (nna_json_span){ 0, 0 };
        if (cJSON_IsString(oc)) j->output_config = xstrdup(oc->valuestring);
        else if (nna_json_validate(text, strlen(text), &line, NULL, NULL) == 0 &&
                 nna_json_member(text, line, "output_config", &v))
            j->output_config = strndup(text + v.off, v.len);
        const char *t = j->output_config;
        cJSON *parsed = t ? cJSON_Parse(t) : NULL;
        const char *why = !t || nna_json_validate(t, strlen(t), &v, NULL, NULL) != 0 ||
                          nna_json_kind(t, v) != '{' ? "is not a JSON object"
                        : output_config_problem(parsed);
        cJSON_Delete(parsed);
        if (why) {
            char msg[160];
            snprintf(msg, sizeof msg, "output_config %s", why);
            job_set_invalid(j, msg);
            goto out;
        }
    }
    if (!j->query && j->nfiles == 0) job_set_invalid(j, "a run needs a query or at least one file");
out:
    cJSON_Delete(o);
}

void job_clear(job *j)
{
    cJSON_Delete(j->id);
    cJSON_Delete(j->err);
    free(j->agent_id);
    free(j->query);
    free(j->output_config);
    for (size_t i = 0; i < j->nfiles; i++) free(j->files[i]);
    free(j->files);
    free(j->invalid);
    free(j->task_id);
    free(j->task_status);
    memset(j, 0, sizeof *j);
}

void batch_free_jobs(batch *b)
{
    for (size_t i = 0; i < b->njobs; i++) job_clear(&b->jobs[i]);
    free(b->jobs);
    b->jobs = NULL;
    b->njobs = 0;
}

/* ---- output lines -------------------------------------------------------------------- */

cJSON *job_line(const job *j)
{
    cJSON *l = cJSON_CreateObject();
    cJSON_AddNumberToObject(l, "line", (double)j->line);
    cJSON_AddItemToObject(l, "id", j->id ? cJSON_Duplicate(j->id, 1) : cJSON_CreateNull());
    if (j->task_id) cJSON_AddStringToObject(l, "task_id", j->task_id);
    else cJSON_AddNullToObject(l, "task_id");
    return l;
}

void job_emit(job *j, cJSON *line)
{
    batch *b = j->b;
    char *s = cJSON_PrintUnformatted(line);
    cJSON_Delete(line);
    if (!s || (b->out_fd >= 0 && (strbuf_puts(&b->out_pending, s) || strbuf_puts(&b->out_pending, "\n")))) {
        fputs("{\"error\":\"out of memory\",\"status\":0}\n", stderr);
        exit(EXIT_NETWORK);
    }
    free(s);
    j->state = J_DONE;
    if (j->ok) b->st.ok++;
    else b->st.failed++;
}

static void emit_error(job *j, cJSON *err, int exit_code)
{
    cJSON *l = job_line(j);
    cJSON_AddStringToObject(l, "status", "error");
    const cJSON *e;
    cJSON_ArrayForEach(e, err) {
        if (strcmp(e->string, "status") == 0)
            cJSON_AddItemToObject(l, "http_status", cJSON_Duplicate(e, 1));
        else
            cJSON_AddItemToObject(l, e->string, cJSON_Duplicate(e, 1));
    }
    j->ok = 0;
    j->exit_code = exit_code;
    job_emit(j, l);
}

static void emit_invalid(job *j)
{
    cJSON *l = job_line(j);
    cJSON_AddStringToObject(l, "status", "invalid");
    cJSON_AddStringToObject(l, "error", j->invalid);
    cJSON_AddNumberToObject(l, "http_status", 0);
    cJSON_AddStringToObject(l, "code", "usage");
    j->ok = 0;
    j->exit_code = EXIT_USAGE;
    job_emit(j, l);
}

static void add_time(cJSON *l, const char *key, double t)
{
    if (!isfinite(t)) return;
    char iso[32];
    iso_utc(t, iso, sizeof iso);
    cJSON_AddStringToObject(l, key, iso);
}

static void emit_created(job *j)
{
    cJSON *l = job_line(j);
    cJSON_AddStringToObject(l, "status", j->task_status ? j->task_status : "unknown");
    cJSON_AddStringToObject(l, "agent_id", j->agent_id);
    add_time(l, "created_at", j->created_at);
    cJSON_AddBoolToObject(l, "reconciled", j->reconciled);
    j->ok = 1;
    job_emit(j, l);
}

/* ---- the engine ---------------------------------------------------------------------- */

static void on_watch(nna_future *f, void *ud);

void job_task_known(job *j, const char *task_id, const char *agent_id, const char *status,
                    double created_at, int reconciled, int record)
{
    batch *b = j->b;
    free(j->task_id);
    free(j->task_status);
    j->task_id = xstrdup(task_id);
    j->task_status = xstrdup(status);
    j->created_at = created_at;
    j->reconciled = reconciled != 0;
    b->st.created++;
    if (record && b->jr) {
        jrec r = { j->line, j->task_id, (char *)(agent_id ? agent_id : j->agent_id),
                   j->task_status, created_at, wall_now(), j->reconciled };
        journal_task(b->jr, &r);
    }
    if (!b->wait) {
        emit_created(j);
        return;
    }
    j->state = J_WATCH;
    j->f = nna_watch_add(b->watch, task_id, agent_id ? agent_id : j->agent_id, created_at);
    if (!j->f) exit(EXIT_NETWORK);
    b->active++;
    nna_future_then(j->f, on_watch, j);
}

/* The row's "summary": the summary text, else the whole result, as the server wrote it. */
static cJSON *summary_item(const nna_summary *s)
{
    const char *t = s->result_text;
    size_t n = s->result_len;
    nna_json_span all = { 0, n }, m;
    if (t && s->text && cJSON_IsObject(s->result) && nna_json_member(t, all, "summary", &m)) {
        t += m.off;
        n = m.len;
    }
    if (t) return raw_json(t, n);
    return s->text ? cJSON_CreateString(s->text) : cJSON_Duplicate(s->result, 1);
}

/* The final line of a watched task; `sf` is the /summary read for a failed task. */
static void emit_final(job *j, nna_future *wf, nna_future *sf)
{
    nna_status st = nna_future_status(wf);
    const nna_wait_result *r = nna_future_result(wf);
    if (!r) {
        cJSON *e = error_object(wf);
        emit_error(j, e, exit_code_for(st, nna_future_http_status(wf)));
        cJSON_Delete(e);
        return;
    }
    cJSON *l = job_line(j);
    const char *status = r->task.status_text ? r->task.status_text : nna_task_status_name(r->task.status);
    cJSON_AddStringToObject(l, "status", status);
    const nna_summary *s = r->has_summary ? &r->summary : NULL;
    if (!s && sf && nna_future_status(sf) == NNA_OK) s = nna_future_result(sf);
    if (s && s->result) cJSON_AddItemToObject(l, "summary", summary_item(s));
    else cJSON_AddNullToObject(l, "summary");
    if (s && s->extracted_data)   /* the server's bytes: cJSON would re-print numbers */
        cJSON_AddItemToObject(l, "extracted_data", s->extracted_data_text
            ? raw_json(s->extracted_data_text, s->extracted_data_len)
            : cJSON_Duplicate(s->extracted_data, 1));
    cJSON_AddBoolToObject(l, "reconciled", j->reconciled);
    j->ok = st == NNA_OK;
    j->exit_code = exit_code_for(st, 0);
    job_emit(j, l);
}

static void on_failed_summary(nna_future *sf, void *ud)
{
    job *j = ud;
    batch *b = j->b;
    b->active--;
    if (!b->io_failed) emit_final(j, j->f, sf);
    nna_future_unref(j->f);
    j->f = NULL;
    nna_future_unref(sf);
}

static void on_watch(nna_future *f, void *ud)
{
    job *j = ud;
    batch *b = j->b;
    const nna_wait_result *r = nna_future_result(f);
    if (!b->io_failed && nna_future_status(f) == NNA_ETASK_FAILED && r && r->task.task_id) {
        /* A failed task's reason is in its /summary. */
        nna_future *sf = nna_tasks_summary(b->c->client, r->task.task_id);
        if (sf && nna_future_then(sf, on_failed_summary, j) == NNA_OK) {
            j->state = J_SUMMARY;
            return; /* keeps f in j->f */
        }
        nna_future_unref(sf);
    }
    b->active--;
    if (!b->io_failed) emit_final(j, f, NULL);
    j->f = NULL;
    nna_future_unref(f);
}

/* A run whose creation may have happened: the batch looks for its task at the end. */
static int in_doubt(nna_future *f)
{
    if (nna_future_attempts(f) == 0) return 0;
    switch (nna_future_status(f)) {
    case NNA_EOUTCOME_UNKNOWN:
    case NNA_ESERVER:
    case NNA_ENETWORK:
    case NNA_ETIMEDOUT:
    case NNA_EDEADLINE:
    case NNA_EPROTOCOL:
        return 1;
    default:
        return 0;
    }
}

static void submit_more(batch *b);

static void on_run(nna_future *f, void *ud)
{
    job *j = ud;
    batch *b = j->b;
    b->active--;
    b->runs_inflight--;
    j->f = NULL;
    if (b->io_failed) {
        nna_future_unref(f);
        return;
    }
    const nna_task *t = nna_future_status(f) == NNA_OK ? nna_future_result(f) : NULL;
    if (t && nna_future_reconciled(f) && fence_has_task(&b->fence, t->task_id)) {
        /* The library's reconciliation adopted a task that existed before the batch (an
         * older run of the same query): not ours. Find ours at the end, or send again. */
        j->err = error_object(f);
        cJSON_ReplaceItemInObject(j->err, "error",
                                  cJSON_CreateString("run creation in doubt; the task found "
                                                     "existed before the batch"));
        j->exit_code = EXIT_NETWORK;
        j->state = J_INDOUBT;
        j->resend = 1;
        b->st.rejected++;
    } else if (t) {
        double now = wall_now();
        /* (server clock - local clock) >= created_at - now: the task was created before
         * its answer arrived (created_at is rounded down, which keeps it a lower bound). */
        if (isfinite(t->created_at) && (isnan(b->offset_lb) || t->created_at - now > b->offset_lb))
            b->offset_lb = t->created_at - now;
        const char *status = t->status_text ? t->status_text : nna_task_status_name(t->status);
        job_task_known(j, t->task_id, t->agent_id, status, t->created_at,
                       nna_future_reconciled(f), 1);
    } else if (in_doubt(f)) {
        j->err = error_object(f);
        j->exit_code = exit_code_for(nna_future_status(f), nna_future_http_status(f));
        j->state = J_INDOUBT;
    } else {
        cJSON *e = error_object(f);
        emit_error(j, e, exit_code_for(nna_future_status(f), nna_future_http_status(f)));
        cJSON_Delete(e);
    }
    nna_future_unref(f);
    submit_more(b);
}

static void submit(job *j)
{
    batch *b = j->b;
    nna_run_options ro;
    nna_run_options_init(&ro);
    ro.query = j->query;
    ro.output_config_json = j->output_config;
    ro.files = (const char *const *)j->files;
    ro.nfiles = j->nfiles;
    ro.deadline = b->run_deadline;
    j->f = nna_agents_run(b->c->client, j->agent_id, &ro);
    if (!j->f) exit(EXIT_NETWORK);
    j->state = J_RUN;
    b->active++;
    b->runs_inflight++;
    nna_future_then(j->f, on_run, j);
}

static void submit_more(batch *b)
{
    while (b->next < b->njobs && b->runs_inflight < MAX_RUNS_OUTSTANDING) {
        job *j = &b->jobs[b->next++];
        if (j->state == J_TODO) submit(j);
    }
}

/* Journal first (on disk), then the output lines that depend on it. */
static int flush(batch *b)
{
    if (b->io_failed) return -1;
    if (journal_sync(b->jr) != 0) {
        b->io_failed = 1;
        return -1;
    }
    size_t off = 0;
    while (off < b->out_pending.len) {
        ssize_t n = write(b->out_fd, b->out_pending.p + off, b->out_pending.len - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            report_error(NNA_EIO, 0, strerror(errno));
            b->io_failed = 1;
            return -1;
        }
        off += (size_t)n;
    }
    b->out_pending.len = 0;
    return 0;
}

static void update_progress(batch *b)
{
    if (!b->prog) return;
    progress_done(b->prog, b->st.ok + b->st.failed + b->st.skipped, b->st.failed);
    progress_created(b->prog, b->st.created + b->st.skipped);
    progress_queued(b->prog, b->runs_inflight + (b->njobs - b->next));
}

static int pump(batch *b)
{
    submit_more(b);
    if (flush(b)) return -1;
    while (b->active > 0 || b->next < b->njobs) {
        cli_turn(b->c);
        if (flush(b) || b->interrupted) return -1;
        update_progress(b);
    }
    return 0;
}

double batch_window(double start, double offset_lb)
{
    if (isnan(offset_lb)) return start - 120;
    return start + offset_lb - 2;
}

int batch_execute(batch *b)
{
    if (pump(b)) return -1;
    /* Runs that ended in doubt: look for their tasks once, now that nothing of ours is in
     * flight; what is not found keeps its error. */
    size_t doubtful = 0;
    for (size_t i = 0; i < b->njobs; i++) doubtful += b->jobs[i].state == J_INDOUBT;
    if (doubtful) {
        int arc = adopt_in_doubt(b, batch_window(b->t_start, b->offset_lb));
        size_t again = 0;
        for (size_t i = 0; i < b->njobs; i++) {
            job *j = &b->jobs[i];
            if (j->state != J_INDOUBT) continue;
            if (arc == EXIT_OK && j->resend) {
                /* Looked for and not there: sending it again creates no duplicate. */
                j->state = J_TODO;
                again++;
                continue;
            }
            b->st.in_doubt_lost++;
            emit_error(j, j->err, j->exit_code);
        }
        if (again) {
            b->next = 0;
            for (size_t i = 0; i < b->njobs; i++) b->jobs[i].resend = 0;
        }
        if (pump(b)) return -1;
        for (size_t i = 0; i < b->njobs; i++) {
            job *j = &b->jobs[i];
            if (j->state != J_INDOUBT) continue;
            b->st.in_doubt_lost++;
            emit_error(j, j->err, j->exit_code);
        }
    }
    return flush(b);
}

/* ---- resume: what the output already has --------------------------------------------- */

/* Reads the output, cuts a half-written last line, and marks each input line that has its
 * output line in done[line]. 0 or -1 (printed). */
static int repair_output(const char *path, unsigned char *done, size_t nlines)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? 0 : (report_error(NNA_EIO, 0, strerror(errno)), -1);
    strbuf b = { 0 };
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0) strbuf_put(&b, chunk, (size_t)n);
    size_t good = 0;
    for (size_t pos = 0; pos < b.len;) {
        char *nl = memchr(b.p + pos, '\n', b.len - pos);
        if (!nl) break;
        *nl = '\0';
        cJSON *l = cJSON_Parse(b.p + pos);
        pos = (size_t)(nl - b.p) + 1;
        good = pos;
        const cJSON *ln = cJSON_GetObjectItemCaseSensitive(l, "line");
        if (cJSON_IsNumber(ln) && ln->valuedouble >= 1 && ln->valuedouble <= (double)nlines)
            done[(size_t)ln->valuedouble] = 1;
        cJSON_Delete(l);
    }
    int rc = 0;
    if (good < b.len && ftruncate(fd, (off_t)good) != 0) {
        report_error(NNA_EIO, 0, strerror(errno));
        rc = -1;
    }
    strbuf_free(&b);
    close(fd);
    return rc;
}

/* ---- the command --------------------------------------------------------------------- */

static void summary_line(batch *b, double elapsed)
{
    if (batch_summary_table(b, elapsed)) return;
    nna_workspace_counters k;
    memset(&k, 0, sizeof k);
    if (b->c->client) nna_workspace_counters_get(nna_client_workspace(b->c->client), &k);
    cJSON *s = cJSON_CreateObject();
    cJSON *o = cJSON_AddObjectToObject(s, "batch");
    cJSON_AddNumberToObject(o, "lines", (double)b->njobs);
    cJSON_AddNumberToObject(o, "ok", (double)b->st.ok);
    cJSON_AddNumberToObject(o, "failed", (double)b->st.failed);
    cJSON_AddNumberToObject(o, "skipped", (double)b->st.skipped);
    cJSON_AddNumberToObject(o, "adopted", (double)b->st.adopted);
    cJSON_AddNumberToObject(o, "rejected", (double)b->st.rejected);
    cJSON_AddNumberToObject(o, "requests", (double)k.sent);
    cJSON_AddNumberToObject(o, "rate_limited", (double)k.rate_limited);
    cJSON_AddNumberToObject(o, "retries",
                            (double)(k.retried_rate + k.retried_server + k.retried_network));
    cJSON_AddNumberToObject(o, "reconciled", (double)k.reconciled);
    cJSON_AddNumberToObject(o, "elapsed", floor(elapsed * 1000) / 1000);
    size_t ran = b->st.ok + b->st.failed;
    cJSON_AddNumberToObject(o, "runs_per_s", elapsed > 0 ? floor(ran / elapsed * 10) / 10 : 0);
    char *t = cJSON_PrintUnformatted(s);
    fputs(t, stderr);
    fputc('\n', stderr);
    free(t);
    cJSON_Delete(s);
}

static void settle(double seconds)
{
    if (seconds <= 0) return;
    struct timespec ts = { (time_t)seconds, (long)((seconds - floor(seconds)) * 1e9) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

int cmd_batch(cli *c, int argc, char **argv)
{
    const char *in_path = NULL, *out_path = NULL, *jpath_arg = NULL;
    int wait = 0, resume = 0, force = 0, rc = EXIT_OK;
    double timeout = 600;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        int r;
        if (arg_is_help(a)) {
            fputs(HELP, stdout);
            return EXIT_OK;
        }
        if ((r = arg_value(argc, argv, &i, "--input", &v))) {
            if (r < 0) return EXIT_USAGE;
            in_path = v;
        } else if ((r = arg_value(argc, argv, &i, "--output", &v))) {
            if (r < 0) return EXIT_USAGE;
            out_path = v;
        } else if ((r = arg_value(argc, argv, &i, "--journal", &v))) {
            if (r < 0) return EXIT_USAGE;
            jpath_arg = v;
        } else if ((r = arg_value(argc, argv, &i, "--timeout", &v))) {
            if (r < 0 || parse_seconds("--timeout", v, &timeout)) return EXIT_USAGE;
        } else if (arg_is(a, "--wait", NULL)) {
            wait = 1;
        } else if (arg_is(a, "--resume", NULL)) {
            resume = 1;
        } else if (arg_is(a, "--force", NULL)) {
            force = 1;
        } else if ((r = cli_global_option(c, argc, argv, &i))) {
            if (r < 0) return EXIT_USAGE;
        } else {
            return usage_error("unexpected argument %s for 'nna batch' (see nna batch --help)", a);
        }
    }
    if (!in_path || !out_path) return usage_error("'nna batch' needs --input FILE|- and --output FILE|-");
    int out_stdout = strcmp(out_path, "-") == 0;
    char *jpath = NULL;
    if (jpath_arg) jpath = xstrdup(jpath_arg);
    else if (!out_stdout) {
        jpath = xcalloc(1, strlen(out_path) + sizeof ".journal");
        strcpy(jpath, out_path);
        strcat(jpath, ".journal");
    }
    if (resume && !jpath) return usage_error("--resume needs a journal: use --output FILE or --journal PATH");

    batch b;
    memset(&b, 0, sizeof b);
    b.c = c;
    b.out_fd = -1;
    b.offset_lb = NAN;
    b.fence.w0 = NAN;
    b.timeout = timeout;
    b.label = "batch";
    b.out_path = out_path;
    b.journal_path = jpath;
    b.run_deadline = c->deadline >= 0 ? c->deadline : 0;
    journal_state js;
    memset(&js, 0, sizeof js);
    ev_signal sigs[2];
    memset(sigs, 0, sizeof sigs);
    unsigned char *done = NULL;
    size_t nlines = 0;
    char hash[24];
    if (batch_read_input(&b, in_path, hash, &nlines) != 0) {
        rc = usage_error("--input: cannot read %s: %s", in_path, strerror(errno));
        goto out;
    }
    done = xcalloc(nlines + 2, 1);

    if (jpath && journal_load(jpath, &js) != 0) {
        rc = EXIT_USAGE;
        goto out;
    }
    int resuming = resume && js.exists && !isnan(js.first_start);
    if (resuming) {
        if (strcmp(js.input_hash, hash) != 0) {
            rc = usage_error("--resume: the input differs from the interrupted batch's (%s)", jpath);
            goto out;
        }
        wait = js.wait; /* the interrupted batch's mode */
        if (!out_stdout && repair_output(out_path, done, nlines) != 0) {
            rc = EXIT_USAGE;
            goto out;
        }
    } else if (js.exists && js.finished && !force) {
        rc = usage_error("the batch of %s already finished (journal %s): running it again "
                         "would create every run again. Use another --output, --resume to "
                         "complete it, or --force to start over", out_path, jpath);
        goto out;
    } else if (js.exists && !js.finished && !isnan(js.first_start)) {
        rc = usage_error("an interrupted batch exists (%s): continue it with --resume, or "
                         "remove the journal to start over", jpath);
        goto out;
    }
    b.wait = wait;
    b.t_start = resuming ? js.first_start : wall_now();
    if (resuming) {
        b.fence = js.fence; /* moved */
        memset(&js.fence, 0, sizeof js.fence);
        js.fence.w0 = NAN;
    }
    /* The key and URL are checked before anything is written. */
    if ((rc = cli_connect(c, NULL)) != EXIT_OK) goto out;

    /* Output and journal: on disk before any run is sent. */
    if (out_stdout) {
        b.out_fd = 1;
    } else {
        b.out_fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (resuming ? 0 : O_TRUNC), 0644);
        if (b.out_fd < 0) {
            rc = usage_error("--output: cannot open %s: %s", out_path, strerror(errno));
            goto out;
        }
    }
    /* Before anything is sent: what already exists (see adopt.c). A resumed batch keeps
     * the fences of its first start. */
    if (!resuming) take_fences(&b);
    if (jpath) {
        b.jr = journal_open(jpath, !resuming);
        if (!b.jr) {
            rc = EXIT_USAGE;
            goto out;
        }
        journal_start(b.jr, wall_now(), hash, b.njobs, wait, resuming ? NULL : &b.fence);
        if (journal_sync(b.jr) != 0) {
            rc = EXIT_USAGE;
            goto out;
        }
    }
    if (wait) {
        nna_watch_options wo;
        nna_watch_options_init(&wo);
        wo.deadline = timeout;
        if (nna_watch_new(c->client, &wo, &b.watch) != NNA_OK) {
            rc = report_error(NNA_ENOMEM, 0, NULL);
            goto out;
        }
    }
    double t0 = wall_now();
    b.prog = progress_new(c, b.label, b.njobs, c->progress);

    /* What the interrupted run left: lines with output are done, journaled tasks are
     * reported (or watched), the rest may have been created: look before re-sending. */
    size_t doubtful = 0;
    job **by_line = xcalloc(nlines + 2, sizeof *by_line);
    for (size_t i = 0; i < b.njobs; i++) by_line[b.jobs[i].line] = &b.jobs[i];
    for (size_t i = 0; i < b.njobs; i++) {
        job *j = &b.jobs[i];
        if (done[j->line]) {
            j->state = J_DONE;
            j->ok = 1;
            b.st.skipped++;
        }
    }
    if (resuming) {
        for (size_t k = 0; k < js.nrecs; k++) {
            const jrec *r = &js.recs[k];
            if (isfinite(r->created_at) && isfinite(r->t_resp) &&
                (isnan(b.offset_lb) || r->created_at - r->t_resp > b.offset_lb))
                b.offset_lb = r->created_at - r->t_resp;
            job *j = r->line <= nlines ? by_line[r->line] : NULL;
            if (!j || j->invalid || j->task_id) continue;
            if (j->state == J_DONE) {
                j->task_id = xstrdup(r->task_id); /* known: never adopted by another line */
                continue;
            }
            job_task_known(j, r->task_id, r->agent_id, r->status, r->created_at, r->reconciled, 0);
        }
    }
    for (size_t i = 0; i < b.njobs; i++) {
        job *j = &b.jobs[i];
        if (j->state != J_TODO) continue;
        if (j->invalid) emit_invalid(j);
        else if (resuming) {
            j->state = J_INDOUBT;
            doubtful++;
        }
    }
    free(by_line);
    if (doubtful) {
        /* A run sent just before the interruption may still be committing. */
        settle(1.0 - (wall_now() - js.mtime));
        int arc = adopt_in_doubt(&b, batch_window(js.first_start, b.offset_lb));
        if (arc != EXIT_OK) {
            /* Without the check nothing can be re-sent safely. */
            rc = arc;
            goto out;
        }
        for (size_t i = 0; i < b.njobs; i++)
            if (b.jobs[i].state == J_INDOUBT) b.jobs[i].state = J_TODO;
    }
    batch_interrupt_watch(&b, sigs);
    if (batch_execute(&b) != 0) {
        rc = EXIT_USAGE;
        if (b.interrupted) {
            progress_finish(b.prog);
            batch_interrupt_report(&b, in_path, out_path);
            rc = 128 + b.interrupted;
        }
        goto out;
    }
    if (b.jr) {
        journal_end(b.jr);
        if (journal_sync(b.jr) != 0) rc = EXIT_USAGE;
    }
    if (b.out_fd > 1) fdatasync(b.out_fd);
    progress_finish(b.prog);
    summary_line(&b, wall_now() - t0);
    if (rc == EXIT_OK)
        for (size_t i = 0; i < b.njobs && rc == EXIT_OK; i++)
            if (b.jobs[i].state == J_DONE && !b.jobs[i].ok) rc = b.jobs[i].exit_code ? b.jobs[i].exit_code : EXIT_TASK;
out:
    b.io_failed = 1; /* from here on callbacks only release */
    batch_interrupt_stop(&b, sigs);
    progress_free(b.prog);
    b.prog = NULL;
    if (b.watch) nna_watch_free(b.watch);
    cli_disconnect(c);
    batch_free_jobs(&b);
    strbuf_free(&b.out_pending);
    journal_close(b.jr);
    if (b.out_fd > 1) close(b.out_fd);
    journal_state_free(&js);
    fence_free(&b.fence);
    free(done);
    free(jpath);
    return rc;
}
