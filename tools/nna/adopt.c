/* nna batch: finding the tasks of runs whose creation is in doubt.
 *
 * After a crash, a run may have been created by the server without the journal knowing
 * (killed between the POST and the journal write); in a running batch, a run can end in
 * doubt after its last attempt. Before anything is re-sent, one walk of
 * GET /tasks?agent_id=A&created_after=W per agent lists the candidates.
 *
 * The fence makes that window exact: before its first run, the batch lists every agent's
 * tasks since w0 (start - 120 s) and journals their ids. A later walk with the same
 * created_after=w0, minus those ids, lists exactly the tasks created since the batch
 * started, independent of clock skew. Without a fence (its listing failed), W is the
 * recorded start corrected by the clock offset the task records prove, minus a margin.
 *
 * A candidate is adopted when no line has it yet and its title is consistent with the
 * line's query (the server derives the title from the query); candidates are taken oldest
 * first, each by the earliest line in doubt it fits, so a task is never adopted twice and
 * tasks created by anyone before the batch started are never adopted. */
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "batch.h"

typedef struct cand {
    char  *task_id, *agent_id, *status, *title;
    double created_at;
} cand;

typedef struct agent_walk {
    const char  *agent;
    const char **known;     /* sorted task ids the batch has */
    size_t       nknown;
    const fence_info *fence; /* the agent's tasks from before the batch, or NULL */
    cand        *c;
    size_t       n, cap;
    nna_future  *f;
} agent_walk;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int on_item(const nna_task *t, void *ud)
{
    agent_walk *w = ud;
    if (!t->task_id) return 0;
    if (bsearch(&t->task_id, w->known, w->nknown, sizeof *w->known, cmp_str)) return 0;
    if (w->fence && fence_has_task(w->fence, t->task_id)) return 0;
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        cand *p = realloc(w->c, w->cap * sizeof *p);
        if (!p) exit(EXIT_NETWORK);
        w->c = p;
    }
    cand *c = &w->c[w->n++];
    c->task_id = xstrdup(t->task_id);
    c->agent_id = xstrdup(t->agent_id ? t->agent_id : w->agent);
    c->status = xstrdup(t->status_text ? t->status_text : nna_task_status_name(t->status));
    c->title = xstrdup(t->title);
    c->created_at = t->created_at;
    return 0;
}

/* What the server titles a run with: its query, or for a files-only run the first file's
 * name. */
static int fits(const job *j, const cand *c)
{
    if (j->query) return title_consistent(c->title, j->query);
    char *copy = xstrdup(j->files[0]);
    int ok = title_consistent(c->title, basename(copy));
    free(copy);
    return ok;
}

int adopt_in_doubt(batch *b, double window)
{
    /* The agents with lines in doubt, and every task id the batch already has. */
    agent_walk *walks = NULL;
    size_t nwalks = 0, nknown = 0;
    const char **known = xcalloc(b->njobs + 1, sizeof *known);
    for (size_t i = 0; i < b->njobs; i++) {
        job *j = &b->jobs[i];
        if (j->task_id) known[nknown++] = j->task_id;
        if (j->state != J_INDOUBT) continue;
        size_t k = 0;
        while (k < nwalks && strcmp(walks[k].agent, j->agent_id) != 0) k++;
        if (k == nwalks) {
            agent_walk *p = realloc(walks, (nwalks + 1) * sizeof *p);
            if (!p) exit(EXIT_NETWORK);
            walks = p;
            memset(&walks[nwalks], 0, sizeof *walks);
            walks[nwalks++].agent = j->agent_id;
        }
    }
    qsort(known, nknown, sizeof *known, cmp_str);

    for (size_t k = 0; k < nwalks; k++) {
        agent_walk *w = &walks[k];
        w->known = known;
        w->nknown = nknown;
        nna_tasks_list_options lo;
        nna_tasks_list_options_init(&lo);
        lo.agent_id = w->agent;
        /* A fenced agent: everything since w0 that did not exist before the batch. */
        if (fence_has_agent(&b->fence, w->agent)) w->fence = &b->fence;
        lo.created_after = w->fence ? b->fence.w0 : window;
        lo.limit = 100;
        w->f = nna_tasks_walk(b->c->client, &lo, on_item, w);
        if (!w->f) exit(EXIT_NETWORK);
    }
    int rc = EXIT_OK;
    for (size_t k = 0; k < nwalks; k++) {
        agent_walk *w = &walks[k];
        if (cli_await(b->c, w->f) != NNA_OK) {
            int e = report_future_error(w->f);
            if (rc == EXIT_OK) rc = e;
            continue;
        }
        /* Oldest candidate first (the list is newest first), each to the earliest line in
         * doubt whose query it fits. */
        size_t first = 0; /* jobs before it are all decided for this agent */
        for (size_t ci = w->n; ci-- > 0;) {
            cand *c = &w->c[ci];
            if (!w->fence && isfinite(c->created_at) && c->created_at < floor(window)) continue;
            int skipping = 1;
            for (size_t i = first; i < b->njobs; i++) {
                job *j = &b->jobs[i];
                int open = j->state == J_INDOUBT && strcmp(j->agent_id, w->agent) == 0;
                if (skipping && !open) {
                    first = i + 1;
                    continue;
                }
                skipping = 0;
                if (!open || !fits(j, c)) continue;
                b->st.adopted++;
                job_task_known(j, c->task_id, c->agent_id, c->status, c->created_at, 1, 1);
                break;
            }
        }
    }
    for (size_t k = 0; k < nwalks; k++) {
        for (size_t i = 0; i < walks[k].n; i++) {
            free(walks[k].c[i].task_id);
            free(walks[k].c[i].agent_id);
            free(walks[k].c[i].status);
            free(walks[k].c[i].title);
        }
        free(walks[k].c);
        nna_future_unref(walks[k].f);
    }
    free(walks);
    free(known);
    return rc;
}

/* ---- fences ---------------------------------------------------------------------------- */

typedef struct fence_walk {
    const char *agent;
    strbuf      ids;      /* task ids, '\n'-separated */
    size_t      n;
    nna_future *f;
} fence_walk;

static int on_pre(const nna_task *t, void *ud)
{
    fence_walk *w = ud;
    if (t->task_id) {
        strbuf_puts(&w->ids, t->task_id);
        strbuf_puts(&w->ids, "\n");
        w->n++;
    }
    return 0;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void take_fences(batch *b)
{
    fence_walk *walks = NULL;
    size_t nwalks = 0;
    for (size_t i = 0; i < b->njobs; i++) {
        job *j = &b->jobs[i];
        if (j->invalid || j->state == J_DONE) continue;
        size_t k = 0;
        while (k < nwalks && strcmp(walks[k].agent, j->agent_id) != 0) k++;
        if (k < nwalks) continue;
        fence_walk *p = realloc(walks, (nwalks + 1) * sizeof *p);
        if (!p) exit(EXIT_NETWORK);
        walks = p;
        memset(&walks[nwalks], 0, sizeof *walks);
        walks[nwalks++].agent = j->agent_id;
    }
    b->fence.w0 = floor(b->t_start) - 120;
    for (size_t k = 0; k < nwalks; k++) {
        nna_tasks_list_options lo;
        nna_tasks_list_options_init(&lo);
        lo.agent_id = walks[k].agent;
        lo.created_after = b->fence.w0;
        lo.limit = 100;
        walks[k].f = nna_tasks_walk(b->c->client, &lo, on_pre, &walks[k]);
        if (!walks[k].f) exit(EXIT_NETWORK);
    }
    size_t npre = 0;
    for (size_t k = 0; k < nwalks; k++) {
        cli_await(b->c, walks[k].f);
        if (nna_future_status(walks[k].f) == NNA_OK) npre += walks[k].n;
    }
    b->fence.agents = xcalloc(nwalks + 1, sizeof *b->fence.agents);
    b->fence.pre = xcalloc(npre + 1, sizeof *b->fence.pre);
    for (size_t k = 0; k < nwalks; k++) {
        fence_walk *w = &walks[k];
        if (nna_future_status(w->f) == NNA_OK) {
            b->fence.agents[b->fence.nagents++] = xstrdup(w->agent);
            for (char *p = w->ids.p; p && *p;) {
                char *nl = strchr(p, '\n');
                *nl = '\0';
                b->fence.pre[b->fence.npre++] = xstrdup(p);
                p = nl + 1;
            }
        }
        strbuf_free(&w->ids);
        nna_future_unref(w->f);
    }
    qsort(b->fence.pre, b->fence.npre, sizeof *b->fence.pre, cmp_cstr);
    free(walks);
}
