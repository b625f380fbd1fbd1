/* nna: the batch runner's internals, shared by batch.c (input, output, the run engine),
 * journal.c (the crash journal), adopt.c (finding tasks whose creation is in doubt) and
 * demo.c (which runs the same engine on generated jobs). Internal. */
#ifndef NNA_BATCH_H
#define NNA_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include "cli.h"

/* ---- the journal (journal.c) -------------------------------------------------------- */

/* A task record: the run of input line `line` created (or adopted) this task. */
typedef struct jrec {
    size_t line;
    char  *task_id, *agent_id, *status;
    double created_at;   /* server time (Unix s), NAN if unknown */
    double t_resp;       /* local time the answer arrived */
    int    reconciled;
} jrec;

/* What existed before the batch sent anything: for each agent whose listing succeeded, the
 * ids of its tasks created since w0 (= start - 120 s, local clock, sent as created_after).
 * A later walk with the same created_after minus these ids lists exactly the tasks created
 * since, whatever the skew between the clocks (within 120 s). */
typedef struct fence_info {
    double  w0;        /* NAN: no fences */
    char  **agents;    /* fenced agents */
    size_t  nagents;
    char  **pre;       /* sorted task ids that existed at the start */
    size_t  npre;
} fence_info;
void fence_free(fence_info *f);
int  fence_has_agent(const fence_info *f, const char *agent);
int  fence_has_task(const fence_info *f, const char *task_id);

typedef struct journal_state {
    int     exists;
    double  first_start;   /* local time recorded before the first POST of the batch; NAN */
    char    input_hash[24];
    size_t  lines;
    int     wait;
    int     finished;      /* an "end" record closes it */
    double  mtime;
    fence_info fence;      /* of the first start record */
    jrec   *recs;
    size_t  nrecs;
} journal_state;

/* Reads a journal (a missing file is fine: exists = 0) and cuts off a half-written last
 * record. 0, or -1 (error printed). */
int  journal_load(const char *path, journal_state *st);
void journal_state_free(journal_state *st);

typedef struct journal journal;
/* Opens (creating; `truncate` empties it) for appending. NULL on error (printed). */
journal *journal_open(const char *path, int truncate);
void journal_start(journal *j, double t, const char *input_hash, size_t lines, int wait,
                   const fence_info *fence);
void journal_task(journal *j, const jrec *r);
void journal_end(journal *j);
/* Writes the buffered records and fdatasync()s them. 0, or -1 (error printed). */
int  journal_sync(journal *j);
void journal_close(journal *j);

/* ---- jobs and the engine (batch.c) -------------------------------------------------- */

enum job_state {
    J_TODO,       /* to be submitted */
    J_RUN,        /* run creation in flight */
    J_WATCH,      /* created; watched until terminal */
    J_SUMMARY,    /* failed; reading its /summary for the reason */
    J_INDOUBT,    /* creation may have happened: look for it before deciding */
    J_DONE        /* its output line is written (or buffered) */
};

typedef struct batch batch;

typedef struct job {
    batch      *b;
    size_t      line;           /* 1-based input line */
    cJSON      *id;             /* the caller's "id" (owned), or NULL */
    char       *agent_id, *query, *output_config;
    char      **files;
    size_t      nfiles;
    char       *invalid;        /* why the line is malformed, or NULL */
    /* progress */
    unsigned char state;
    unsigned char reconciled;   /* found by reconciliation (library or batch) */
    unsigned char ok;           /* ended well */
    unsigned char resend;       /* in doubt: may be sent again if its task is not found */
    int         exit_code;      /* of a failed line */
    char       *task_id;
    char       *task_status;
    double      created_at;
    cJSON      *err;            /* error object of a creation in doubt */
    nna_future *f;              /* the future in flight */
} job;

typedef struct batch_stats {
    size_t lines, ok, failed, skipped, adopted, in_doubt_lost, created, rejected;
} batch_stats;

struct batch {
    cli        *c;
    job        *jobs;
    size_t      njobs;
    int         wait;
    double      timeout;        /* per watched task; 0 = none */
    double      watch_interval; /* first delay between watch rounds */
    double      run_deadline;   /* per run creation; 0 = none */
    int         out_fd;         /* -1: no output */
    strbuf      out_pending;
    journal    *jr;             /* NULL: no journal */
    double      t_start;        /* this session's start (local) */
    double      window_start;   /* earliest creation time a task of ours can have */
    nna_watch  *watch;
    progress   *prog;
    const char *label;
    size_t      next;           /* next job to submit */
    size_t      active;         /* jobs with a future in flight */
    size_t      runs_inflight;
    int         io_failed;
    batch_stats st;
    double      offset_lb;      /* lower bound of (server clock - local clock), or NAN */
    fence_info  fence;          /* tasks that existed before the batch started */
    int         interrupted;    /* the signal that stops the batch (interrupt.c), or 0 */
    const char *out_path;       /* for the summary; NULL or "-": standard output */
    const char *journal_path;   /* NULL: none */
};

/* ---- the input (batch_input.c) ------------------------------------------------------ */

#define BATCH_LINE_MAX (1024 * 1024)  /* bytes per input line (docs/cli.md) */

/* Reads the input (PATH or "-"), one job per non-blank line (line numbers are physical;
 * a line over BATCH_LINE_MAX or with a NUL byte is an invalid job), and its hash. 0, or
 * -1 with errno set (nothing printed). */
int  batch_read_input(batch *b, const char *path, char hash[24], size_t *physical_lines);
/* Fills a job from its line's JSON text (batch.c); malformed lines become invalid. */
void job_parse(job *j, const char *text);
/* Marks the job invalid with a reason (copied). */
void job_set_invalid(job *j, const char *why);

/* Runs every job not yet done: submits the runs, watches them with --wait, writes each
 * output line after the journal has the task, then looks for the tasks of runs that ended
 * in doubt. Returns 0, or -1 on a local I/O failure (printed). */
int  batch_execute(batch *b);
/* Frees the jobs' memory. */
void batch_free_jobs(batch *b);
/* Frees the job's strings and id. */
void job_clear(job *j);
/* A job whose task is known (created, adopted or journaled): journal it when `record`,
 * then watch it or write its line. */
void job_task_known(job *j, const char *task_id, const char *agent_id, const char *status,
                    double created_at, int reconciled, int record);
/* Writes an output line for the job (takes `line`), marking it done. */
void job_emit(job *j, cJSON *line);
/* {"line": N, "id": ...} */
cJSON *job_line(const job *j);

/* The summary as a table on stderr when it is a terminal or --format table: 1, else 0
 * (batch_summary.c). */
int  batch_summary_table(const batch *b, double elapsed);

/* ---- Ctrl-C (interrupt.c) ------------------------------------------------------------ */

/* Starts SIGINT and SIGTERM watchers (sigs[2], owned by the caller) that set
 * b->interrupted; batch_execute then returns -1 at the next loop turn. */
void batch_interrupt_watch(batch *b, ev_signal *sigs);
void batch_interrupt_stop(batch *b, ev_signal *sigs);
/* What was done and how to continue, on stderr. */
void batch_interrupt_report(const batch *b, const char *in_path, const char *out_path);

/* ---- finding tasks of runs in doubt (adopt.c) --------------------------------------- */

/* For the jobs in state J_INDOUBT: one walk of GET /tasks?agent_id=A&created_after=W per
 * agent (W = the fence's w0 for a fenced agent, whose pre-existing tasks are skipped, else
 * `window`); each unknown task (no job has it) whose title is consistent with a job's query is
 * adopted by the earliest such job, oldest task first. Adopted jobs go on (journal, then
 * watch or output); the rest stay J_INDOUBT. Returns 0, or the exit code of a failed walk
 * (then nothing is adopted for that agent). */
int  adopt_in_doubt(batch *b, double window);
/* Lists, before the first run is sent, the recent tasks of every agent of the batch into
 * b->fence (agents whose listing fails are left unfenced). */
void take_fences(batch *b);

/* The earliest creation time (server clock) a task of this batch can have: the recorded
 * start plus the lowest possible clock offset learned from the task records, minus a
 * margin; without records, the start minus 120 s. */
double batch_window(double start, double offset_lb);

#endif
