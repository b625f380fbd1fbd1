/* HTTP transport on libcurl's multi_socket interface.
 *
 * The loop watches the sockets curl names and runs one core timer for curl's timeout.
 * After every call into curl the finished transfers are drained, so the last transfer is
 * never left unreaped, and completion callbacks run outside curl. Easy handles are pooled:
 * a finished transfer's handle (with its buffers) serves the next request, so connections,
 * DNS and TLS sessions are reused and no request allocates a handle.
 *
 * A request body in memory is handed to libcurl as POSTFIELDS, so it leaves with the
 * headers in one write. Non-idempotent requests must never be re-sent by libcurl itself
 * (it silently re-sends a request when a reused keep-alive connection turns out dead
 * before the reply): CURLOPT_PREREQFUNCTION runs each time libcurl is about to send the
 * request, and a second call for a non-idempotent one aborts the transfer, which is then
 * reported as sent (outcome in doubt), so the pipeline reconciles instead of a blind
 * retry of run creation. Multipart file parts have no seek callback for the same
 * reason.
 *
 * TLS: verification is on unless the caller turned it off, TLS 1.2 is the floor, and a
 * certificate, name or pin that does not verify is reported as its own result (a retry
 * would meet the same certificate). Every handle shares one TLS session cache, and until
 * the first https transfer has its response (or ends, or WARMUP_MAX passes) the others
 * wait outside curl (TLS warm-up): by then the first connection has its session (a TLS
 * 1.3 ticket arrives after the handshake), so the connections a fan-out opens next resume
 * it instead of each paying a full handshake, and over HTTP/2 they all ride the first
 * connection. The time limit keeps a slow first request (a large upload) from holding the
 * rest. Redirects are never followed: the Authorization header must not go to wherever a
 * Location points. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include "transport.h"

#define MAX_BODY   ((size_t)64 << 20)  /* body cap when neither request nor options name one */
#define HDR_MAX    128
#define LOC_MAX    512        /* enough of a Location to say where a redirect points */
#define WARMUP_MAX 1.0        /* seconds the TLS warm-up may hold transfers back */

/* Which limit ended a transfer (the write or header callback refused more bytes). */
enum { LIM_NONE, LIM_BODY, LIM_HEADER, LIM_BUDGET };

typedef struct sock_rec {
    curl_socket_t    fd;
    void            *slot;     /* the backend's watcher */
    struct sock_rec *prev, *next;
} sock_rec;

typedef struct upload_file {
    FILE *fp;
} upload_file;

struct nna_xfer {
    nna_transport *t;
    CURL          *easy;
    nna_xfer_done  done;
    void          *arg;
    struct curl_slist *headers;   /* per-request extras (content type) */
    curl_mime     *mime;
    int            has_body;      /* POSTFIELDS points at the caller's body */
    unsigned char  no_rewind;     /* this request must never be re-sent by libcurl */
    unsigned char  prereqs;       /* times libcurl was about to send this request */
    char          *resp;          /* response buffer, kept across reuses */
    size_t         resp_len, resp_cap;
    size_t         max_body;      /* this request's body cap */
    size_t         charged;       /* bytes of resp_cap charged to the transport's budget */
    size_t         hdr_bytes;     /* header bytes of this transfer so far */
    int            limit;         /* LIM_*: the limit that stopped it */
    char           limit_text[128];
    char           errbuf[CURL_ERROR_SIZE];
    char           retry_after[HDR_MAX];
    char           date[HDR_MAX];
    char           location[LOC_MAX];
    char           tls_error[CURL_ERROR_SIZE + 64];
    double         started;
    int            active;
    unsigned char  https;
    unsigned char  waiting;       /* held back until the TLS warm-up ends */
    nna_xfer      *next_wait;
    nna_xfer      *next_free;
    nna_xfer      *prev_act, *next_act;
};

struct nna_transport {
    nna_loop          *loop;
    CURLM             *multi;
    nna_timer          timer;
    struct curl_slist *base_headers;  /* Authorization, Accept: shared by every request */
    struct curl_slist *json_headers;  /* Content-Type: application/json + the same */
    char              *user_agent;
    long               connect_timeout_ms;
    int                verify_tls;
    char              *ca_file, *ca_path, *pinned_pubkey;
    CURLSH            *share;         /* the TLS session cache of every handle */
    sock_rec          *socks;
    nna_xfer          *free_list;
    nna_xfer          *active_list;
    size_t             nactive;
    long               maxconnects;   /* CURLMOPT_MAXCONNECTS now */
    size_t             max_body, max_header; /* limits (reply_limits.h) */
    size_t             budget, budget_used, budget_peak;
    long               low_speed_limit, low_speed_time;
    int                https_started; /* an https transfer was handed to curl */
    int                tls_warm;      /* the TLS warm-up is over */
    int                warm_due;      /* the first https response began: end it in drain() */
    nna_timer          warm_timer;    /* WARMUP_MAX */
    nna_xfer          *wait_head, *wait_tail;
    nna_xfer          *refused;       /* held ones curl would not take: failed by drain() */
    int                draining;
};

/* ---- curl → loop ------------------------------------------------------------------ */

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)e;
    nna_transport *t = userp;
    sock_rec *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (!s) return 0;
        nna_loop_io(t->loop, (int)fd, 0, &s->slot);
        if (s->prev) s->prev->next = s->next; else t->socks = s->next;
        if (s->next) s->next->prev = s->prev;
        free(s);
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return -1;
        s->fd = fd;
        s->next = t->socks;
        if (t->socks) t->socks->prev = s;
        t->socks = s;
        curl_multi_assign(t->multi, fd, s);
    }
    int ev = 0;
    if (what & CURL_POLL_IN) ev |= NNA_IO_READ;
    if (what & CURL_POLL_OUT) ev |= NNA_IO_WRITE;
    return nna_loop_io(t->loop, (int)fd, ev, &s->slot) == 0 ? 0 : -1;
}

static int on_curl_timer(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    nna_transport *t = userp;
    if (timeout_ms < 0) {
        nna_timer_stop(t->loop, &t->timer);
        return 0;
    }
    /* Milliseconds as a fraction of a second: integer division would turn 1..999 ms into
     * 0 s and spin. A 0 timeout is honoured on the next loop turn, not from inside curl. */
    return nna_timer_start(t->loop, &t->timer, (double)timeout_ms / 1000.0) == 0 ? 0 : -1;
}

/* ---- completion ------------------------------------------------------------------- */

/* Failures that no retry can fix: the status to fail with at once, or NNA_OK. */
static nna_status permanent_status(CURLcode rc)
{
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:           /* also "no URL set": CURLOPT_URL refused it */
        return NNA_EURL;
    case CURLE_NOT_BUILT_IN:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_FUNCTION_NOT_FOUND:
        return NNA_EINVAL;
    default:
        return NNA_OK;
    }
}

/* Failures of trust: the same server would fail the same way on every retry. A generic
 * handshake failure (CURLE_SSL_CONNECT_ERROR: reset mid-handshake, overload) stays a
 * retryable network failure: with OpenSSL a failed verification of the certificate or
 * the name is always CURLE_PEER_FAILED_VERIFICATION. */
static int tls_trust_failure(CURLcode rc)
{
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:  /* chain, expiry or host name */
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CACERT_BADFILE:        /* ca_file / ca_path unusable */
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CIPHER:
        return 1;
    default:
        return 0;
    }
}

static nna_xfer_result classify(nna_xfer *x, CURLcode rc)
{
    if (rc == CURLE_OK) return NNA_XFER_HTTP;
    if (x->limit == LIM_BUDGET) return NNA_XFER_BUDGET;
    if (x->limit) return NNA_XFER_TOO_LARGE;
    if (rc == CURLE_FILESIZE_EXCEEDED) { /* refused by Content-Length before the body */
        x->limit = LIM_BODY;
        snprintf(x->limit_text, sizeof x->limit_text,
                 "response body larger than this request's limit of %zu bytes", x->max_body);
        return NNA_XFER_TOO_LARGE;
    }
    if (tls_trust_failure(rc)) return NNA_XFER_TLS;
    /* libcurl was about to re-send a non-rewindable request (the reused connection died):
     * the first copy may have reached the server. */
    if (rc == CURLE_ABORTED_BY_CALLBACK && x->prereqs > 1) return NNA_XFER_SENT;
    if (permanent_status(rc) != NNA_OK) return NNA_XFER_PERMANENT;
    /* Once libcurl began sending (on_prereq ran), a failure is no longer "local": the
     * server may have the request (e.g. out of memory on a header line over 100 KB of a
     * reply), so its outcome is in doubt. */
    if (rc == CURLE_OUT_OF_MEMORY && x->prereqs > 0) return NNA_XFER_SENT;
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
        return NNA_XFER_UNSENT;
    case CURLE_READ_ERROR:
    case CURLE_OUT_OF_MEMORY:
        return NNA_XFER_LOCAL;
    default: break;
    }
    /* Did the transfer phase begin? Before it, nothing of the request can have left. */
    curl_off_t pre = 0;
    curl_easy_getinfo(x->easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
    if (pre == 0) return NNA_XFER_UNSENT;
    if (rc == CURLE_OPERATION_TIMEDOUT) return NNA_XFER_TIMEOUT;
    return NNA_XFER_SENT;
}

static void release_request(nna_xfer *x)
{
    /* The handle must not point at what is freed here when it serves the next request. */
    if (x->headers) {
        curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, NULL);
        curl_slist_free_all(x->headers);
        x->headers = NULL;
    }
    if (x->has_body) { /* the caller's body may be freed once the transfer is over */
        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, NULL);
        x->has_body = 0;
    }
    if (x->mime) {
        curl_easy_setopt(x->easy, CURLOPT_MIMEPOST, NULL);
        curl_mime_free(x->mime);
        x->mime = NULL;
    }
}

static void unlink_active(nna_transport *t, nna_xfer *x)
{
    if (x->prev_act) x->prev_act->next_act = x->next_act; else t->active_list = x->next_act;
    if (x->next_act) x->next_act->prev_act = x->prev_act;
    x->prev_act = x->next_act = NULL;
    x->active = 0;
    t->nactive--;
}

static void to_pool(nna_transport *t, nna_xfer *x)
{
    release_request(x);
    if (x->resp_cap > NNA_XFER_FREE_BYTES) { /* do not let one huge reply pin memory */
        free(x->resp);
        x->resp = NULL;
        x->resp_cap = 0;
    }
    t->budget_used -= x->charged;
    x->charged = 0;
    x->next_free = t->free_list;
    t->free_list = x;
}

/* "TLS: " and libcurl's detail ("SSL certificate problem: self-signed certificate"),
 * which names the problem better than the code's generic text. */
static const char *tls_error_text(nna_xfer *x, CURLcode rc)
{
    snprintf(x->tls_error, sizeof x->tls_error, "TLS: %s (not retried)",
             x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
    return x->tls_error;
}

/* A transfer that could not be handed to curl after all: reported as unsent. */
static void fail_unsent(nna_transport *t, nna_xfer *x, const char *why)
{
    unlink_active(t, x);
    nna_http_response r;
    memset(&r, 0, sizeof r);
    r.result = NNA_XFER_UNSENT;
    r.body = "";
    r.error = why;
    r.elapsed = nna_loop_now(t->loop) - x->started;
    x->done(x->arg, &r);
    to_pool(t, x);
}

/* The first https response began (its session is in the shared cache by then), or that
 * transfer ended or was aborted, or WARMUP_MAX passed: the held transfers go to curl now
 * (and open their connections resuming the session, or multiplex). One curl refuses is
 * failed from drain(), never from inside this call. */
static void end_tls_warmup(nna_transport *t)
{
    t->tls_warm = 1;
    nna_timer_stop(t->loop, &t->warm_timer);
    while (t->wait_head) {
        nna_xfer *x = t->wait_head;
        t->wait_head = x->next_wait;
        x->next_wait = NULL;
        x->waiting = 0;
        if (curl_multi_add_handle(t->multi, x->easy) != CURLM_OK) {
            x->next_wait = t->refused;
            t->refused = x;
            nna_timer_start(t->loop, &t->timer, 0); /* drain() soon */
        }
    }
    t->wait_tail = NULL;
}

static void unlink_refused(nna_transport *t, nna_xfer *x)
{
    for (nna_xfer **pp = &t->refused; *pp; pp = &(*pp)->next_wait)
        if (*pp == x) {
            *pp = x->next_wait;
            x->next_wait = NULL;
            return;
        }
}

static void unlink_waiting(nna_transport *t, nna_xfer *x)
{
    nna_xfer **pp = &t->wait_head, *prev = NULL;
    while (*pp && *pp != x) { prev = *pp; pp = &(*pp)->next_wait; }
    if (!*pp) return;
    *pp = x->next_wait;
    if (t->wait_tail == x) t->wait_tail = prev;
    x->next_wait = NULL;
    x->waiting = 0;
}

static void finish(nna_transport *t, nna_xfer *x, CURLcode rc)
{
    curl_multi_remove_handle(t->multi, x->easy);
    unlink_active(t, x);
    if (x->https && !t->tls_warm) end_tls_warmup(t);
    nna_http_response r;
    memset(&r, 0, sizeof r);
    r.result = classify(x, rc);
    if (r.result == NNA_XFER_TOO_LARGE && x->limit == LIM_BODY) {
        /* An error reply over the cap is still that reply: its status decides (a 429's
         * pause, a 5xx's retry, a 4xx's code); only its body is cut to what was read. */
        long code = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 300) {
            r.result = NNA_XFER_HTTP;
            rc = CURLE_OK;
        }
    }
    if (r.result == NNA_XFER_HTTP) curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r.status);
    r.body = x->resp ? x->resp : "";
    r.body_len = x->resp_len;
    r.retry_after = x->retry_after[0] ? x->retry_after : NULL;
    r.date = x->date[0] ? x->date : NULL;
    r.location = x->location[0] ? x->location : NULL;
    r.fail_status = r.result == NNA_XFER_PERMANENT ? permanent_status(rc) : NNA_OK;
    r.error = rc == CURLE_OK ? NULL : x->limit ? x->limit_text
            : rc == CURLE_OPERATION_TIMEDOUT && x->errbuf[0] ? x->errbuf /* which timeout */
            : curl_easy_strerror(rc);
    if (rc == CURLE_OUT_OF_MEMORY && r.result == NNA_XFER_SENT && !x->limit)
        r.error = "the reply could not be read (a header line over libcurl's 100 KB "
                  "limit, or out of memory) after the request was sent";
    if (r.result == NNA_XFER_TLS) r.error = tls_error_text(x, rc);
    r.elapsed = nna_loop_now(t->loop) - x->started;
    x->done(x->arg, &r);
    to_pool(t, x);
}

/* Reaps every finished transfer. Runs after each call into curl. */
static void drain(nna_transport *t)
{
    if (t->draining) return;
    t->draining = 1;
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(t->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        nna_xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        CURLcode rc = m->data.result;
        finish(t, x, rc);
    }
    if (t->warm_due && !t->tls_warm) end_tls_warmup(t);
    while (t->refused) {
        nna_xfer *x = t->refused;
        t->refused = x->next_wait;
        x->next_wait = NULL;
        fail_unsent(t, x, "could not start the transfer");
    }
    t->draining = 0;
}

static void on_timer_fired(nna_timer *tm, void *arg)
{
    (void)tm;
    nna_transport *t = arg;
    int running;
    curl_multi_socket_action(t->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain(t);
}

static void on_warmup_timeout(nna_timer *tm, void *arg)
{
    (void)tm;
    nna_transport *t = arg;
    if (!t->tls_warm) end_tls_warmup(t);
}

static void on_io_ready(void *arg, int fd, int events)
{
    nna_transport *t = arg;
    int flags = 0, running;
    if (events & NNA_IO_READ) flags |= CURL_CSELECT_IN;
    if (events & NNA_IO_WRITE) flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(t->multi, (curl_socket_t)fd, flags, &running);
    drain(t);
}

/* ---- per-transfer callbacks ------------------------------------------------------- */

/* Stops the transfer at a limit (the callback returns 0: curl ends it with an error). */
static size_t refuse(nna_xfer *x, int which, const char *fmt, size_t value)
{
    x->limit = which;
    snprintf(x->limit_text, sizeof x->limit_text, fmt, value);
    return 0;
}

/* Grows the reply buffer to hold `need` bytes, within the body cap and the transport's
 * budget: the bytes beyond the first NNA_XFER_FREE_BYTES are charged to the budget, by
 * capacity (what is really allocated). */
static int grow(nna_xfer *x, size_t need)
{
    nna_transport *t = x->t;
    size_t ncap = x->resp_cap ? x->resp_cap : 1024;
    while (ncap < need) ncap *= 2;
    if (ncap > x->max_body + 1) ncap = x->max_body + 1;
    size_t charge = ncap > NNA_XFER_FREE_BYTES ? ncap - NNA_XFER_FREE_BYTES : 0;
    if (t->budget && charge > x->charged && t->budget_used + (charge - x->charged) > t->budget) {
        refuse(x, LIM_BUDGET, "response memory budget of %zu bytes exhausted by concurrent "
               "transfers (response_budget)", t->budget);
        return -1;
    }
    char *nb = realloc(x->resp, ncap);
    if (!nb) return -1;
    x->resp = nb;
    x->resp_cap = ncap;
    t->budget_used += charge - x->charged;
    x->charged = charge;
    if (t->budget_used > t->budget_peak) t->budget_peak = t->budget_used;
    return 0;
}

static size_t on_write(char *data, size_t size, size_t n, void *userp)
{
    nna_xfer *x = userp;
    size_t len = size * n;
    if (x->resp_len + len > x->max_body)
        return refuse(x, LIM_BODY, "response body larger than this request's limit of %zu "
                      "bytes", x->max_body);
    if (x->resp_len + len + 1 > x->resp_cap && grow(x, x->resp_len + len + 1) != 0) return 0;
    memcpy(x->resp + x->resp_len, data, len);
    x->resp_len += len;
    x->resp[x->resp_len] = '\0';
    return len;
}

/* Copies the value of header `name` if `line` is that header (cut to cap - 1 bytes). */
static int header_value(const char *line, size_t len, const char *name, char *out,
                        size_t cap)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':') return 0;
    const char *v = line + nl + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) end--;
    size_t vl = (size_t)(end - v);
    if (vl >= cap) vl = cap - 1;
    memcpy(out, v, vl);
    out[vl] = '\0';
    return 1;
}

static size_t on_header(char *line, size_t size, size_t n, void *userp)
{
    nna_xfer *x = userp;
    size_t len = size * n;
    /* Counted over the whole transfer, 1xx replies included: endless headers end too. */
    x->hdr_bytes += len;
    if (x->t->max_header && x->hdr_bytes > x->t->max_header)
        return refuse(x, LIM_HEADER, "response headers larger than max_header_bytes (%zu)",
                      x->t->max_header);
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) { /* a new response (after 1xx) */
        if (x->https) x->t->warm_due = 1; /* its TLS session is cached by now */
        x->retry_after[0] = x->date[0] = x->location[0] = '\0';
        x->resp_len = 0;
        return len;
    }
    switch (line[0]) { /* only three headers matter */
    case 'R': case 'r': header_value(line, len, "Retry-After", x->retry_after, HDR_MAX); break;
    case 'D': case 'd': header_value(line, len, "Date", x->date, HDR_MAX); break;
    case 'L': case 'l': header_value(line, len, "Location", x->location, LOC_MAX); break;
    default: break;
    }
    return len;
}

/* Called each time libcurl is about to send the request on a connection. A second call
 * for one transfer means libcurl is re-sending it by itself after a reused connection
 * died: for a non-idempotent request that is a blind retry, so fail the attempt instead
 * (the pipeline reconciles). */
static int on_prereq(void *userp, char *ip, char *local_ip, int port, int local_port)
{
    (void)ip; (void)local_ip; (void)port; (void)local_port;
    nna_xfer *x = userp;
    return ++x->prereqs > 1 && x->no_rewind ? CURL_PREREQFUNC_ABORT : CURL_PREREQFUNC_OK;
}

static size_t file_read(char *buf, size_t size, size_t n, void *arg)
{
    upload_file *u = arg;
    size_t got = fread(buf, size, n, u->fp);
    if (got == 0 && ferror(u->fp)) return CURL_READFUNC_ABORT;
    return got;
}

static void file_free(void *arg)
{
    upload_file *u = arg;
    if (u->fp) fclose(u->fp);
    free(u);
}

/* ---- request setup ---------------------------------------------------------------- */

static const char *guess_type(const char *path)
{
    static const struct { const char *ext, *type; } map[] = {
        {".pdf", "application/pdf"}, {".png", "image/png"}, {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"}, {".gif", "image/gif"}, {".webp", "image/webp"},
        {".tif", "image/tiff"}, {".tiff", "image/tiff"}, {".txt", "text/plain"},
        {".csv", "text/csv"}, {".json", "application/json"},
        {".doc", "application/msword"},
        {".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
        {".xls", "application/vnd.ms-excel"},
        {".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    };
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
            if (strcasecmp(dot, map[i].ext) == 0) return map[i].type;
    return "application/octet-stream";
}

static int add_file_part(curl_mime *mime, const nna_form_part *p)
{
    upload_file *u = calloc(1, sizeof *u);
    if (!u) return -1;
    u->fp = fopen(p->path, "rb");
    struct stat st;
    if (!u->fp || fstat(fileno(u->fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        file_free(u);
        return -1;
    }
    curl_mimepart *part = curl_mime_addpart(mime);
    const char *base = strrchr(p->path, '/');
    base = base ? base + 1 : p->path;
    curl_mime_name(part, p->name);
    curl_mime_filename(part, base);
    curl_mime_type(part, p->content_type ? p->content_type : guess_type(p->path));
    /* No seek callback: the part cannot be rewound, so libcurl never re-sends it alone. */
    if (curl_mime_data_cb(part, (curl_off_t)st.st_size, file_read, NULL, file_free, u) != CURLE_OK) {
        file_free(u);
        return -1;
    }
    return 0;
}

static int build_mime(nna_xfer *x, const nna_http_request *req)
{
    x->mime = curl_mime_init(x->easy);
    if (!x->mime) return -1;
    for (size_t i = 0; i < req->nparts; i++) {
        const nna_form_part *p = &req->parts[i];
        if (p->value) {
            curl_mimepart *part = curl_mime_addpart(x->mime);
            curl_mime_name(part, p->name);
            curl_mime_data(part, p->value, CURL_ZERO_TERMINATED);
        } else if (add_file_part(x->mime, p) != 0) {
            return -1;
        }
    }
    return curl_easy_setopt(x->easy, CURLOPT_MIMEPOST, x->mime) == CURLE_OK ? 0 : -1;
}

/* Trust: verification, the floor version, the caller's CAs and pin, the shared session
 * cache. */
static int set_tls(nna_transport *t, CURL *e)
{
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, t->verify_tls ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, t->verify_tls ? 2L : 0L);
    if (curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK)
        return -1;
    if (t->ca_file && curl_easy_setopt(e, CURLOPT_CAINFO, t->ca_file) != CURLE_OK) return -1;
    if (t->ca_path && curl_easy_setopt(e, CURLOPT_CAPATH, t->ca_path) != CURLE_OK) return -1;
    if (t->pinned_pubkey &&
        curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, t->pinned_pubkey) != CURLE_OK) return -1;
    curl_easy_setopt(e, CURLOPT_SHARE, t->share);
    return 0;
}

/* Options that never change for a pooled handle. */
static int init_handle(nna_transport *t, nna_xfer *x)
{
    x->easy = curl_easy_init();
    if (!x->easy) return -1;
    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_USERAGENT, t->user_agent);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, t->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    if (set_tls(t, e) != 0) {
        curl_easy_cleanup(e);
        x->easy = NULL;
        return -1;
    }
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    /* Only http and https, never file:// or others from a caller-supplied base URL. */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, x);
    /* A trickling server cannot hold a transfer for ever, whatever the timeout. */
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, t->low_speed_limit);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, t->low_speed_time);
    return 0;
}

static nna_xfer *take_handle(nna_transport *t)
{
    nna_xfer *x = t->free_list;
    if (x) {
        t->free_list = x->next_free;
        return x;
    }
    x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->t = t;
    if (init_handle(t, x) != 0) {
        free(x);
        return NULL;
    }
    return x;
}

static int set_body(nna_xfer *x, const nna_http_request *req)
{
    CURL *e = x->easy;
    if (req->nparts) return build_mime(x, req);
    curl_easy_setopt(e, CURLOPT_MIMEPOST, NULL);
    if (!req->body) { /* an explicit empty body: no size left over from the last request */
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        return 0;
    }
    /* The caller keeps the body for the whole transfer (see transport.h), so libcurl sends
     * it from there with the headers in one write, without a copy. A re-send by libcurl
     * itself is stopped by on_prereq. */
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
    x->has_body = 1;
    return 0;
}

static int set_request(nna_transport *t, nna_xfer *x, const nna_http_request *req)
{
    CURL *e = x->easy;
    int is_get = strcmp(req->method, "GET") == 0;
    int is_post = strcmp(req->method, "POST") == 0;
    x->resp_len = 0;
    x->limit = LIM_NONE;
    x->hdr_bytes = 0;
    x->errbuf[0] = '\0';
    x->max_body = req->max_body ? req->max_body : t->max_body;
    /* A Content-Length above the cap fails before any of the body is read. */
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max_body);
    x->prereqs = 0;
    x->no_rewind = (unsigned char)(req->no_rewind != 0);
    x->retry_after[0] = x->date[0] = x->location[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(req->timeout > 0 ? req->timeout * 1000.0 : 0));
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, strncmp(req->url, "https:", 6) == 0 ? 1L : 0L);
    if (is_get) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, is_post ? NULL : req->method);
        if (!req->body && !req->nparts && !req->no_rewind) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
            curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, "");
        } else if (set_body(x, req) != 0) {
            return -1;
        }
    }
    /* Prebuilt lists owned by the transport: nothing allocated per request. */
    curl_easy_setopt(e, CURLOPT_HTTPHEADER,
                     req->body && !req->nparts ? t->json_headers : t->base_headers);
    return 0;
}

nna_xfer *nna_xfer_start(nna_transport *t, const nna_http_request *req, nna_xfer_done done,
                         void *arg)
{
    nna_xfer *x = take_handle(t);
    if (!x) return NULL;
    if (set_request(t, x, req) != 0) {
        to_pool(t, x);
        return NULL;
    }
    x->done = done;
    x->arg = arg;
    x->started = nna_loop_now(t->loop);
    x->https = strncmp(req->url, "https:", 6) == 0;
    if (x->https && t->https_started && !t->tls_warm) {
        x->waiting = 1; /* see end_tls_warmup */
        if (t->wait_tail) t->wait_tail->next_wait = x; else t->wait_head = x;
        t->wait_tail = x;
    } else if (curl_multi_add_handle(t->multi, x->easy) != CURLM_OK) {
        to_pool(t, x);
        return NULL;
    } else if (x->https && !t->https_started) {
        t->https_started = 1;
        nna_timer_start(t->loop, &t->warm_timer, WARMUP_MAX);
    }
    /* The connection cache must hold at least every connection in use: with fewer, curl
     * closes a connection after almost every reply once more transfers than that are in
     * flight (several clients share a workspace's cap, or the cap exceeds the client's
     * max_inflight), and each request then pays a new connection (and TLS handshake). */
    if ((long)t->nactive + 1 > t->maxconnects) {
        t->maxconnects = 2 * ((long)t->nactive + 1);
        curl_multi_setopt(t->multi, CURLMOPT_MAXCONNECTS, t->maxconnects);
    }
    x->active = 1;
    x->next_act = t->active_list;
    if (t->active_list) t->active_list->prev_act = x;
    t->active_list = x;
    t->nactive++;
    return x;
}

void nna_xfer_abort(nna_transport *t, nna_xfer *x)
{
    if (!x || !x->active) return;
    if (x->waiting) {
        unlink_waiting(t, x);
    } else {
        curl_multi_remove_handle(t->multi, x->easy);
        /* The transfer the others wait for is gone: stop holding them. */
        if (x->https && !t->tls_warm) end_tls_warmup(t);
    }
    unlink_refused(t, x);
    unlink_active(t, x);
    to_pool(t, x);
}

size_t nna_transport_active(const nna_transport *t) { return t->nactive; }

size_t nna_transport_budget_used(const nna_transport *t, size_t *peak)
{
    if (peak) *peak = t->budget_peak;
    return t->budget_used;
}

/* ---- lifetime --------------------------------------------------------------------- */

static struct curl_slist *base_headers(const char *key)
{
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    if (!h) return NULL;
    /* An empty Expect: keeps curl from waiting for 100-continue on large bodies. */
    struct curl_slist *n = curl_slist_append(h, "Expect:");
    if (!n) { curl_slist_free_all(h); return NULL; }
    size_t len = strlen("Authorization: Bearer ") + strlen(key) + 1;
    char *auth = malloc(len);
    if (!auth) { curl_slist_free_all(h); return NULL; }
    snprintf(auth, len, "Authorization: Bearer %s", key);
    n = curl_slist_append(h, auth);
    /* Wipe our copy of the key; the slist keeps the only one. */
    memset(auth, 0, len);
    free(auth);
    if (!n) { curl_slist_free_all(h); return NULL; }
    return h;
}

static void global_init_once(void)
{
    static int done;
    if (!done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        done = 1;
    }
}

static int dup_opt(const char *in, char **out)
{
    *out = in ? strdup(in) : NULL;
    return in && !*out ? -1 : 0;
}

/* Copies of the caller's TLS settings and the session cache the handles share. */
static int dup_tls_options(nna_transport *t, const nna_transport_options *o)
{
    if (dup_opt(o->ca_file, &t->ca_file) || dup_opt(o->ca_path, &t->ca_path) ||
        dup_opt(o->pinned_pubkey, &t->pinned_pubkey))
        return -1;
    t->share = curl_share_init();
    if (!t->share ||
        curl_share_setopt(t->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)
        return -1;
    return 0;
}

nna_transport *nna_transport_new(nna_loop *loop, const nna_transport_options *o)
{
    global_init_once();
    nna_transport *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->loop = loop;
    t->connect_timeout_ms = (long)(o->connect_timeout * 1000.0);
    t->verify_tls = o->verify_tls;
    t->max_body = o->max_response_bytes ? o->max_response_bytes : MAX_BODY;
    t->max_header = o->max_header_bytes;
    t->budget = o->response_budget;
    t->low_speed_limit = o->low_speed_limit;
    t->low_speed_time = o->low_speed_time;
    t->user_agent = strdup(o->user_agent);
    if (dup_tls_options(t, o) != 0) {
        nna_transport_free(t);
        return NULL;
    }
    t->base_headers = base_headers(o->api_key);
    t->json_headers = curl_slist_append(NULL, "Content-Type: application/json");
    for (struct curl_slist *h = t->base_headers; h && t->json_headers; h = h->next)
        if (!curl_slist_append(t->json_headers, h->data)) {
            curl_slist_free_all(t->json_headers);
            t->json_headers = NULL;
        }
    t->multi = curl_multi_init();
    if (!t->user_agent || !t->base_headers || !t->json_headers || !t->multi) {
        nna_transport_free(t);
        return NULL;
    }
    nna_timer_init(&t->timer, on_timer_fired, t);
    nna_timer_init(&t->warm_timer, on_warmup_timeout, t);
    loop->io_handler = on_io_ready;
    loop->io_arg = t;
    curl_multi_setopt(t->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(t->multi, CURLMOPT_SOCKETDATA, t);
    curl_multi_setopt(t->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(t->multi, CURLMOPT_TIMERDATA, t);
    curl_multi_setopt(t->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    t->maxconnects = o->max_connections > 0 ? o->max_connections : 256L;
    curl_multi_setopt(t->multi, CURLMOPT_MAXCONNECTS, t->maxconnects);
    return t;
}

static void free_handle(nna_xfer *x)
{
    if (x->easy) {
        release_request(x);
        curl_easy_cleanup(x->easy);
    }
    free(x->resp);
    free(x);
}

void nna_transport_free(nna_transport *t)
{
    if (!t) return;
    /* held and refused transfers are on the active list too */
    t->wait_head = t->wait_tail = t->refused = NULL;
    while (t->active_list) {
        nna_xfer *x = t->active_list;
        curl_multi_remove_handle(t->multi, x->easy);
        unlink_active(t, x);
        free_handle(x);
    }
    while (t->free_list) {
        nna_xfer *x = t->free_list;
        t->free_list = x->next_free;
        free_handle(x);
    }
    if (t->multi) curl_multi_cleanup(t->multi); /* closes the pooled connections */
    /* Unwatch whatever curl did not remove itself. */
    while (t->socks) {
        sock_rec *s = t->socks;
        t->socks = s->next;
        nna_loop_io(t->loop, (int)s->fd, 0, &s->slot);
        free(s);
    }
    nna_timer_stop(t->loop, &t->timer);
    nna_timer_stop(t->loop, &t->warm_timer);
    if (t->loop->io_handler == on_io_ready) t->loop->io_handler = NULL;
    if (t->base_headers) {
        for (struct curl_slist *h = t->base_headers; h; h = h->next)
            memset(h->data, 0, strlen(h->data)); /* the key */
        curl_slist_free_all(t->base_headers);
    }
    if (t->json_headers) {
        for (struct curl_slist *h = t->json_headers; h; h = h->next)
            memset(h->data, 0, strlen(h->data)); /* the key */
        curl_slist_free_all(t->json_headers);
    }
    free(t->user_agent);
    free(t->ca_file);
    free(t->ca_path);
    free(t->pinned_pubkey);
    if (t->share) curl_share_cleanup(t->share); /* after every handle that used it */
    free(t);
}
