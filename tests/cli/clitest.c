/* Helpers of the nna command-line tests (see clitest.h). */
#define _GNU_SOURCE
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "clitest.h"

extern char **environ;

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

void sleep_s(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

const char *built(const char *rel)
{
    static char buf[8][1024];
    static int k;
    const char *top = getenv("NNA_TOP_BUILDDIR");
    if (!top || !*top) top = NNA_BUILDDIR;
    char *out = buf[k++ % 8];
    snprintf(out, sizeof buf[0], "%s/%s", top, rel);
    return out;
}

static char made_dirs[16][64];
static int nmade;
static pid_t made_by;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_dirs(void)
{
    if (getpid() != made_by) return;
    for (int i = 0; i < nmade; i++) nftw(made_dirs[i], rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

const char *tmpdir(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/nna-cli-test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    if (nmade < 16) {
        if (nmade == 0) {
            made_by = getpid();
            atexit(remove_dirs);
        }
        snprintf(made_dirs[nmade++], sizeof made_dirs[0], "%s", dir);
    }
    return dir;
}

/* ---- the emulator --------------------------------------------------------------------- */

void emu_proc_start(emu_proc *e, const char *const *extra)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    const char *args[64];
    int n = 0;
    args[n++] = built("tools/emu/nna-emu");
    args[n++] = "--port";
    args[n++] = "0";
    args[n++] = "--quiet";
    for (int i = 0; extra && extra[i] && n < 62; i++) args[n++] = extra[i];
    args[n] = NULL;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* Dies with the test process, even when a failed check skips the teardown. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        int dn = open("/dev/null", O_RDONLY);
        dup2(dn, 0);
        execv(args[0], (char *const *)args);
        _exit(127);
    }
    close(p[1]);
    char line[64] = { 0 };
    size_t got = 0;
    double end = now_s() + 10;
    while (got < sizeof line - 1 && !memchr(line, '\n', got) && now_s() < end) {
        struct pollfd pf = { p[0], POLLIN, 0 };
        if (poll(&pf, 1, 200) <= 0) continue;
        ssize_t r = read(p[0], line + got, sizeof line - 1 - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(p[0]); /* --quiet: nothing more is written */
    e->pid = pid;
    e->port = (unsigned)strtoul(line, NULL, 10);
    ck_assert_msg(e->port > 0, "nna-emu did not report its port: '%s'", line);
    snprintf(e->base, sizeof e->base, "http://127.0.0.1:%u", e->port);
}

void emu_proc_stop(emu_proc *e)
{
    if (e->pid <= 0) return;
    kill(e->pid, SIGTERM);
    int st;
    waitpid(e->pid, &st, 0);
    e->pid = 0;
}

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
    size_t len = sz * n;
    char **buf = ud;
    size_t old = *buf ? strlen(*buf) : 0;
    char *q = realloc(*buf, old + len + 1);
    if (!q) return 0;
    memcpy(q + old, p, len);
    q[old + len] = '\0';
    *buf = q;
    return len;
}

cJSON *emu_http(const emu_proc *e, const char *method, const char *path, const char *body,
                const char *key, long *status)
{
    CURL *h = curl_easy_init();
    char url[1024], auth[512];
    char *resp = NULL;
    snprintf(url, sizeof url, "%s%s", e->base, path);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    if (key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        hdr = curl_slist_append(hdr, auth);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    if (body) curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
    if (status) *status = code;
    cJSON *j = resp ? cJSON_Parse(resp) : NULL;
    free(resp);
    return j;
}

cJSON *emu_ctl(const emu_proc *e, const char *method, const char *path, const char *body)
{
    long st;
    cJSON *j = emu_http(e, method, path, body, NULL, &st);
    ck_assert_msg(st == 200, "%s %s -> %ld", method, path, st);
    return j;
}

long emu_requests(const emu_proc *e)
{
    cJSON *j = emu_ctl(e, "GET", "/_emu/counters", NULL);
    long n = (long)cJSON_GetObjectItem(j, "requests")->valuedouble;
    cJSON_Delete(j);
    return n;
}

int emu_tasks_of(const emu_proc *e, const char *agent)
{
    char path[128];
    snprintf(path, sizeof path, "/_emu/tasks?agent_id=%s", agent);
    cJSON *j = emu_ctl(e, "GET", path, NULL);
    int n = (int)cJSON_GetObjectItem(j, "count")->valuedouble;
    cJSON_Delete(j);
    return n;
}

/* ---- running nna ---------------------------------------------------------------------- */

static char **child_env(const emu_proc *e, const char *key, const char *const *env)
{
    size_t n = 0, m = 0;
    while (environ[n]) n++;
    while (env && env[m]) m++;
    char **out = calloc(n + m + 3, sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strncmp(environ[i], "NANONETS_API_KEY=", 17) ||
            !strncmp(environ[i], "NANONETS_BASE_URL=", 18))
            continue;
        out[k++] = environ[i];
    }
    static char base[128], keyv[512];
    if (e) {
        snprintf(base, sizeof base, "NANONETS_BASE_URL=%s", e->base);
        out[k++] = base;
    }
    if (key) {
        snprintf(keyv, sizeof keyv, "NANONETS_API_KEY=%s", key);
        out[k++] = keyv;
    }
    for (size_t i = 0; i < m; i++) out[k++] = (char *)env[i];
    out[k] = NULL;
    return out;
}

char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) buf = realloc(buf, (cap *= 2) + 1);
    }
    fclose(f);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static pid_t spawn(const emu_proc *e, const char *key, const char *const *env,
                   const char *in_file, const char *const *argv, const char *out_file,
                   const char *err_file, int wrap)
{
    const char *args[128];
    int n = 0;
    char *wrapper = NULL;
    const char *w = wrap ? getenv("NNA_CLI_WRAPPER") : NULL;
    if (w && *w) {
        wrapper = strdup(w);
        for (char *tok = strtok(wrapper, " "); tok && n < 32; tok = strtok(NULL, " ")) args[n++] = tok;
    }
    args[n++] = built("tools/nna/nna");
    for (int i = 0; argv[i] && n < 126; i++) args[n++] = argv[i];
    args[n] = NULL;
    char **envp = child_env(e, key, env);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fi = open(in_file ? in_file : "/dev/null", O_RDONLY);
        int fo = open(out_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(err_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fi, 0);
        dup2(fo, 1);
        dup2(fe, 2);
        execvpe(args[0], (char *const *)args, envp);
        _exit(127);
    }
    free(envp);
    free(wrapper);
    return pid;
}

void nna_run(nna_out *r, const emu_proc *e, const char *key, const char *const *env,
             const char *in, const char *const *argv)
{
    char dir[] = "/tmp/nna-run.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char fin[64], fout[64], ferr[64];
    snprintf(fin, sizeof fin, "%s/in", dir);
    snprintf(fout, sizeof fout, "%s/out", dir);
    snprintf(ferr, sizeof ferr, "%s/err", dir);
    if (in) write_file(fin, in);
    pid_t pid = spawn(e, key, env, in ? fin : NULL, argv, fout, ferr, 1);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    r->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r->out = read_file(fout, &r->out_len);
    r->err = read_file(ferr, &r->err_len);
    if (!r->out) r->out = strdup("");
    if (!r->err) r->err = strdup("");
    unlink(fin);
    unlink(fout);
    unlink(ferr);
    rmdir(dir);
}

pid_t nna_spawn(const emu_proc *e, const char *key, const char *const *argv,
                const char *out_file, const char *err_file)
{
    return spawn(e, key, NULL, NULL, argv, out_file, err_file, 0);
}

void nna_out_free(nna_out *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

size_t count_lines(const char *s)
{
    size_t n = 0;
    const char *p = s;
    while (*p) {
        const char *nl = strchr(p, '\n');
        n++;
        if (!nl) break;
        p = nl + 1;
    }
    return n;
}

cJSON *json_line(const char *s, size_t i)
{
    const char *p = s;
    for (size_t k = 0; k < i && p; k++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    if (!p || !*p) return NULL;
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    return cJSON_ParseWithLength(p, len);
}
