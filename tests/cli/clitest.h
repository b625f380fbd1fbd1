/* Black-box tests of the nna command line: helpers to start a standalone nna-emu
 * (tools/emu/nna-emu --port 0) as a child process, drive its /_emu/ control endpoints over
 * HTTP, and run the built tools/nna/nna binary with arguments, environment and stdin,
 * capturing its stdout, stderr and exit code. */
#ifndef NNA_CLITEST_H
#define NNA_CLITEST_H
#include <stddef.h>
#include <sys/types.h>
#include <cjson/cJSON.h>

#define AGENT_1 "11111111-1111-4111-8111-111111111111"
#define AGENT_2 "22222222-2222-4222-8222-222222222222"
#define AGENT_3 "33333333-3333-4333-8333-333333333333" /* inactive: runs -> 403 */
#define MISSING_ID "0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b"

typedef struct emu_proc {
    pid_t pid;
    unsigned port;
    char base[64];
} emu_proc;

/* Starts nna-emu --port 0 --quiet plus the extra arguments (NULL-terminated list, may be
 * NULL); fails the test when it does not come up. */
void emu_proc_start(emu_proc *e, const char *const *extra);
void emu_proc_stop(emu_proc *e);
/* An HTTP call to the emulator (control or API; `key` NULL = no Authorization). Returns
 * the parsed JSON body (caller deletes, may be NULL) and sets *status. */
cJSON *emu_http(const emu_proc *e, const char *method, const char *path, const char *body,
                const char *key, long *status);
/* Control call that must answer 200. */
cJSON *emu_ctl(const emu_proc *e, const char *method, const char *path, const char *body);
/* Requests the emulator has seen (all routes). */
long emu_requests(const emu_proc *e);
/* Tasks stored for an agent. */
int emu_tasks_of(const emu_proc *e, const char *agent);

typedef struct nna_out {
    int   code;      /* exit code; 128+N for a signal */
    char *out;       /* stdout */
    char *err;       /* stderr */
    size_t out_len, err_len;
} nna_out;

/* Path of a built program of the tree ("tools/nna/nna"). */
const char *built(const char *rel);
/* Runs nna with argv (NULL-terminated, without argv[0]). Environment: the caller's plus
 * NANONETS_BASE_URL=e->base and NANONETS_API_KEY=key unless key is NULL (then unset);
 * `env` adds NAME=VALUE entries (NULL-terminated, may be NULL). stdin from `in` (NULL =
 * /dev/null). Honours NNA_CLI_WRAPPER (e.g. "valgrind -q --error-exitcode=99") around the
 * binary. */
void nna_run(nna_out *r, const emu_proc *e, const char *key, const char *const *env,
             const char *in, const char *const *argv);
void nna_out_free(nna_out *r);
/* Starts nna in the background (stdout/stderr to files, stdin /dev/null); returns its pid.
 * No wrapper. */
pid_t nna_spawn(const emu_proc *e, const char *key, const char *const *argv,
                const char *out_file, const char *err_file);
/* Lines in a text (a final line without newline counts too). */
size_t count_lines(const char *s);
/* Parses line i (0-based) of s as JSON (caller deletes). */
cJSON *json_line(const char *s, size_t i);
/* Reads a file (caller frees); NULL if absent. */
char *read_file(const char *path, size_t *len);
void write_file(const char *path, const char *text);
/* A fresh temporary directory for this test (removed by the OS's tmp cleaning; small). */
const char *tmpdir(void);
double now_s(void);
void sleep_s(double s);
#endif
