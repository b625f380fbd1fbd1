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
 * reason. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include "transport.h"

#define MAX_BODY   (64u * 1024 * 1024)
#define HDR_MAX    128
#define LOC_MAX    512        /* enough of a Location to say where a redirect points */

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
    int            too_large;
    char           retry_after[HDR_MAX];
    char           date[HDR_MAX];
    char           location[LOC_MAX];
    double         started;
    int            active;
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
    sock_rec          *socks;
    nna_xfer          *free_list;
    nna_xfer          *active_list;
    size_t             nactive;
    long               maxconnects;   /* CURLMOPT_MAXCONNECTS now */
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

static nna_xfer_result classify(nna_xfer *x, CURLcode rc)
{
    if (rc == CURLE_OK) return NNA_XFER_HTTP;
    if (x->too_large) return NNA_XFER_TOO_LARGE;
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
    if (x->resp_cap > 65536) { /* do not let one huge reply pin memory in the pool */
        free(x->resp);
        x->resp = NULL;
        x->resp_cap = 0;
    }
    x->next_free = t->free_list;
    t->free_list = x;
}

static void finish(nna_transport *t, nna_xfer *x, CURLcode rc)
{
    curl_multi_remove_handle(t->multi, x->easy);
    unlink_active(t, x);
    nna_http_response r;
    memset(&r, 0, sizeof r);
    r.result = classify(x, rc);
    if (r.result == NNA_XFER_HTTP) curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r.status);
    r.body = x->resp ? x->resp : "";
    r.body_len = x->resp_len;
    r.retry_after = x->retry_after[0] ? x->retry_after : NULL;
    r.date = x->date[0] ? x->date : NULL;
    r.location = x->location[0] ? x->location : NULL;
    r.fail_status = r.result == NNA_XFER_PERMANENT ? permanent_status(rc) : NNA_OK;
    r.error = rc == CURLE_OK ? NULL : (x->too_large ? "response body too large"
                                                    : curl_easy_strerror(rc));
    if (rc == CURLE_OUT_OF_MEMORY && r.result == NNA_XFER_SENT)
        r.error = "the reply could not be read (a header line over libcurl's 100 KB "
                  "limit, or out of memory) after the request was sent";
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

static size_t on_write(char *data, size_t size, size_t n, void *userp)
{
    nna_xfer *x = userp;
    size_t len = size * n;
    if (x->resp_len + len + 1 > MAX_BODY) {
        x->too_large = 1;
        return 0;
    }
    if (x->resp_len + len + 1 > x->resp_cap) {
        size_t ncap = x->resp_cap ? x->resp_cap : 1024;
        while (ncap < x->resp_len + len + 1) ncap *= 2;
        char *nb = realloc(x->resp, ncap);
        if (!nb) return 0;
        x->resp = nb;
        x->resp_cap = ncap;
    }
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
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) { /* a new response (after 1xx) */
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
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, t->verify_tls ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, t->verify_tls ? 2L : 0L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    /* Only http and https, never file:// or others from a caller-supplied base URL. */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, x);
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
    x->too_large = 0;
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
    if (curl_multi_add_handle(t->multi, x->easy) != CURLM_OK) {
        to_pool(t, x);
        return NULL;
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
    curl_multi_remove_handle(t->multi, x->easy);
    unlink_active(t, x);
    to_pool(t, x);
}

size_t nna_transport_active(const nna_transport *t) { return t->nactive; }

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

nna_transport *nna_transport_new(nna_loop *loop, const nna_transport_options *o)
{
    global_init_once();
    nna_transport *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->loop = loop;
    t->connect_timeout_ms = (long)(o->connect_timeout * 1000.0);
    t->verify_tls = o->verify_tls;
    t->user_agent = strdup(o->user_agent);
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
    free(t);
}
