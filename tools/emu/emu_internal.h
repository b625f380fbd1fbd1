/* nna-emu internals shared by the emulator's source files. */
#ifndef NNA_EMU_INTERNAL_H
#define NNA_EMU_INTERNAL_H

#include "emu.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cJSON.h>

/* ---------------------------------------------------------------- util.c */
typedef struct sbuf {
    char  *p;
    size_t len, cap;
    int    oom;
} sbuf;

void  sb_init(sbuf *b);
void  sb_free(sbuf *b);
void  sb_reserve(sbuf *b, size_t extra);
void  sb_putn(sbuf *b, const char *s, size_t n);
void  sb_puts(sbuf *b, const char *s);
void  sb_putc(sbuf *b, char c);
void  sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void  sb_json_strn(sbuf *b, const char *s, size_t n); /* quoted + escaped */
void  sb_json_str(sbuf *b, const char *s);
char *sb_steal(sbuf *b); /* NUL-terminated, caller frees; never NULL unless OOM */

int64_t emu_now_ms(void);   /* wall clock */
int64_t emu_mono_ns(void);  /* monotonic */
void    emu_fmt_time(int64_t ms, char out[32]);      /* YYYY-MM-DDTHH:MM:SSZ */
void    emu_fmt_http_date(int64_t ms, char out[40]); /* IMF-fixdate */
int     emu_parse_time(const char *s, int64_t *ms);  /* lenient ISO-8601, 0 ok */

typedef struct emu_uuid {
    uint8_t b[16];
} emu_uuid;
int  emu_uuid_parse(const char *s, size_t len, emu_uuid *u); /* 0 ok */
void emu_uuid_fmt(const emu_uuid *u, char out[37]);
void emu_uuid_gen(uint64_t *state, emu_uuid *u);
int  emu_uuid_eq(const emu_uuid *a, const emu_uuid *b);

uint64_t emu_splitmix64(uint64_t *s);
double   emu_rand01(uint64_t *s);

size_t emu_b64_encode(const uint8_t *in, size_t n, char *out); /* out >= 4*ceil(n/3)+1 */
int    emu_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen);

size_t emu_url_decode(char *s); /* in place, '+' -> ' ', returns new length */

/* --------------------------------------------------------------- enums */
enum emu_status {
    ST_PENDING, ST_QUEUED, ST_RUNNING, ST_WAITING, ST_REVIEW,
    ST_COMPLETED, ST_FAILED, ST_STOPPED, ST__COUNT
};
extern const char *const emu_status_names[ST__COUNT];
int emu_status_terminal(int st);

enum emu_route {
    R_RUN, R_TASKS_LIST, R_TASKS_GET, R_TASKS_SUMMARY, R_TASKS_RESULT,
    R_TASKS_MESSAGES, R_TASKS_MESSAGE, R_TASKS_CANCEL, R_AGENTS_LIST,
    R_AGENTS_CREATE, R_AGENTS_GET, R_AGENTS_UPDATE, R_AGENTS_VERSIONS,
    R_AGENTS_PUBLISH, R__COUNT,
    R_ANY = R__COUNT, /* script FIFO for "*" */
    R_NONE = 100      /* not an API route (unknown / control) */
};
extern const char *const emu_route_names[R__COUNT];
int emu_route_from_name(const char *name); /* -1 unknown; R_ANY for "*" */

enum emu_agent_status { AG_DRAFT, AG_PUBLISHED, AG_ARCHIVED };
extern const char *const emu_agent_status_names[3];

/* ------------------------------------------------------------ settings */
typedef struct emu_settings {
    double   fault_500, fault_502, fault_503;
    double   commit_then_fail, commit_then_drop;
    unsigned latency_ms, latency_max_ms;
    unsigned task_ms;
    int      concurrency;          /* 0 = unlimited */
    int      cross_workspace;      /* 403 or 404 */
    int      retry_after_http_date;
    int      varied_success_codes;
    uint64_t max_tasks;
    uint64_t max_upload_bytes;
    char     input_marker[64];
    uint64_t seed;
    double   date_skew;            /* seconds added to the Date header only */
} emu_settings;

/* ------------------------------------------------------------ entities */
typedef struct emu_order_ent {
    uint64_t seq;
    uint32_t slot; /* UINT32_MAX = tombstone (evicted) */
    uint32_t pad;
} emu_order_ent;

typedef struct emu_workspace {
    char    *name;
    char   **keys;
    size_t   nkeys;
    double   rate, burst, tokens;
    int64_t  last_ns;
    emu_uuid user_id;
    /* tasks of this workspace in creation order */
    emu_order_ent *order;
    size_t   ohead, olen, ocap, otombs;
    uint64_t n_requests, n_tasks_created, n_rate_limited;
} emu_workspace;

typedef struct emu_agent {
    emu_uuid id, group;
    int      ws;
    int      version;
    int      status;
    char    *name;
    cJSON   *config;
    char    *config_raw;  /* the client's bytes of config while it is stored as sent (so
                             numbers and escapes come back unchanged), else NULL */
    int      is_active;
    int      has_draft;
    int      concurrency; /* -1 = global setting */
    int64_t  created_ms, updated_ms;
    uint64_t seq;
    /* admission control (only used while a concurrency limit applies) */
    uint32_t *active;
    size_t    nactive, cap_active;
    uint32_t *queue;
    size_t    qhead, qlen, qcap;
} emu_agent;

typedef struct emu_msg {
    int64_t t;
    char   *text;
} emu_msg;

typedef struct emu_task_extra {
    int64_t  ask_ms, review_ms;
    size_t   n, cap;
    emu_msg *msgs; /* user messages posted through /message */
} emu_task_extra;

enum { TK_NORMAL, TK_FAIL, TK_ASK, TK_REVIEW };
enum {
    TF_LIVE = 1, TF_OUTCFG = 2, TF_MANAGED = 4, TF_ASKED = 8, TF_REVIEWED = 16,
    TF_RESUMED = 32
};
#define EMU_TITLE_MAX 64
#define EMU_T_INF INT64_MAX

typedef struct emu_task {
    emu_uuid        id;
    uint64_t        seq;
    int64_t         created_ms, updated_ms, t_next;
    emu_task_extra *extra;
    uint32_t        agent;
    uint16_t        ws;
    uint8_t         status, kind, flags, pad;
    uint16_t        nfiles;
    char            title[EMU_TITLE_MAX - 2];
} emu_task;

#define EMU_CHUNK_BITS 16
#define EMU_CHUNK (1u << EMU_CHUNK_BITS)

/* A generated reply body: prefix, then fill repeated, then (when finite) suffix; streamed
 * without being allocated; optionally trickled, one chunk every interval_ms. */
typedef struct emu_stream_spec {
    uint64_t bytes;           /* whole body; 0 = endless */
    char    *prefix, *fill, *suffix;
    size_t   plen, flen, slen;
    size_t   chunk;           /* bytes per write; 0 = as much as fits */
    unsigned interval_ms;     /* pause between chunks */
    int      chunked;         /* no Content-Length even when finite */
} emu_stream_spec;

typedef struct emu_script {
    struct emu_script *next;
    int      pass;
    int      status;
    char    *body;
    size_t   body_len;
    char    *ctype;
    char   **hnames, **hvalues;
    size_t   nh;
    int      commit, drop;
    unsigned delay_ms;
    emu_stream_spec *stream;  /* "stream": a generated body (stream.c), or NULL */
    size_t   header_pad;      /* "header_bytes": an X-Emu-Pad header of that many bytes */
} emu_script;

typedef struct emu_log_ent {
    double   t;
    float    latency_ms;
    int16_t  ws;
    uint16_t status;
    uint8_t  route;
    const char *method;
    char    *pq; /* "path\0query\0" */
} emu_log_ent;

#define EMU_LOG_CAP 100000

/* The whole mutable state, guarded by nna_emu.mu. */
typedef struct emu_state {
    emu_settings   set;
    emu_workspace *ws;
    size_t         nws;
    emu_agent     *agents;
    size_t         nagents, cap_agents;
    uint64_t       agent_seq;
    /* tasks */
    emu_task     **chunks;
    size_t         nchunks;
    uint32_t       nslots;   /* slots handed out */
    uint32_t      *free_slots;
    size_t         nfree, cap_free;
    uint32_t      *hash;     /* slot+1, 0 = empty */
    size_t         hcap;     /* power of two */
    size_t         ntasks;
    uint64_t       task_seq;
    int64_t        last_created_ms;
    /* scripts */
    emu_script    *sc_head[R__COUNT + 1], *sc_tail[R__COUNT + 1];
    size_t         sc_count, sc_bytes; /* pending scripted responses, their body bytes */
    /* counters */
    uint64_t       requests, tasks_created, dropped, evicted;
    uint64_t       by_status[600];
    uint64_t       by_route[R__COUNT];
    /* log */
    emu_log_ent   *log;
    size_t         log_head, log_len;
    /* RNG */
    uint64_t       fault_rng;
} emu_state;

struct nna_emu {
    pthread_mutex_t mu;
    emu_state       st;
    char           *config_text; /* startup configuration, for /_emu/reset */
    uint64_t        id_rng;      /* ids; never reset */
    uint64_t        opt_seed;    /* nna_emu_options.seed */
    int             control;
    int             quiet;
    FILE           *logf;
    int64_t         logf_last_flush;
    int             logf_dirty;
    uint16_t        port;
    unsigned        idle_timeout; /* seconds an idle connection is kept */
    /* server */
    struct emu_server *srv;
    char           *tls_cert_pem, *tls_key_pem; /* HTTPS when set; live as long as srv */
};

/* ------------------------------------------------------------- config.c */
const char *emu_default_config_json(void);
void emu_settings_defaults(emu_settings *s);
/* Apply a /_emu/config update object. Returns 0 or -1 with err filled. */
int  emu_settings_apply(nna_emu *e, const cJSON *obj, char *err, size_t errlen);
void emu_settings_to_json(nna_emu *e, sbuf *b);
/* Build state from configuration text; 0 or -1 with err. */
int  emu_state_load(nna_emu *e, const char *text, char *err, size_t errlen);
void emu_state_free(emu_state *st);

/* -------------------------------------------------------------- store.c */
emu_task *emu_task_at(emu_state *st, uint32_t slot);
emu_task *emu_task_find(emu_state *st, const emu_uuid *id, uint32_t *slot);
emu_task *emu_task_new(nna_emu *e, int ws, uint32_t agent, uint32_t *slot);
void      emu_task_evict(emu_state *st, uint32_t slot);
void      emu_tasks_clear(emu_state *st);
size_t    emu_order_find_lt(const emu_workspace *w, uint64_t seq); /* index one past last < seq */
emu_agent *emu_agent_find(emu_state *st, const emu_uuid *id, size_t *idx);
emu_agent *emu_agent_add(emu_state *st);
int       emu_agent_name_taken(emu_state *st, int ws, const char *name, const emu_uuid *except_group);
void      emu_agent_free(emu_agent *a);

/* ---------------------------------------------------------- lifecycle.c */
void emu_task_start_lifecycle(nna_emu *e, uint32_t slot, const char *query, int64_t now);
void emu_task_advance(nna_emu *e, uint32_t slot, int64_t now);
void emu_agent_advance(nna_emu *e, uint32_t agent, int64_t now);
void emu_ws_advance_agents(nna_emu *e, int ws, int64_t now);
int  emu_task_cancel(nna_emu *e, uint32_t slot, int64_t now);
int  emu_task_post_message(nna_emu *e, uint32_t slot, const char *text, size_t len, int64_t now);
int  emu_task_release(nna_emu *e, uint32_t slot, int64_t now);
void emu_task_unlink_admission(emu_state *st, uint32_t slot);
int  emu_agent_limit(const emu_state *st, const emu_agent *a);

/* ---------------------------------------------------------- ratelimit.c */
/* 0 = allowed; otherwise seconds until a token (>= 1). */
int  emu_rate_take(emu_workspace *w, int64_t now_ns);
void emu_rate_configure(emu_workspace *w, double rate, double burst);

/* ------------------------------------------------------------- cursor.c */
enum { CUR_TASKS = 1, CUR_AGENTS = 2, CUR_VERSIONS = 3 };
void emu_cursor_make(int kind, uint64_t seq, char out[40]);
int  emu_cursor_parse(int kind, const char *s, uint64_t *seq); /* 0 ok */

/* ---------------------------------------------------------------- log.c */
void emu_log_record(nna_emu *e, int ws, const char *method, const char *path,
                    const char *query, int status, int route, double latency_ms);
void emu_log_clear(emu_state *st);
void emu_log_json(nna_emu *e, sbuf *b, size_t limit);
void emu_counters_json(nna_emu *e, sbuf *b);
void emu_logf_flush(nna_emu *e, int force);

/* Largest body of a /_emu/ control request (413 beyond). */
#define EMU_CONTROL_BODY_MAX ((size_t)1 << 20)

/* ------------------------------------------------------------- stream.c */
/* Parses a script's "stream" object; NULL with err filled when invalid. */
emu_stream_spec *emu_stream_parse(const cJSON *o, char *err, size_t errlen);
void emu_stream_spec_free(emu_stream_spec *sp);
struct MHD_Response;
struct emu_req;
/* The MHD response streaming sp for request r on connection conn (NULL when out of
 * memory). The spec is copied. */
struct MHD_Response *emu_stream_response(nna_emu *e, struct emu_req *r, void *conn,
                                         const emu_stream_spec *sp);

/* ------------------------------------------------------------- limits.c */
/* Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now. */
unsigned long emu_raise_nofile(void);
/* Connections the server may hold with the file descriptors the process may open. */
unsigned emu_conn_limit(void);
/* 1 when every address `host` resolves to is a loopback address. */
int emu_host_is_loopback(const char *host);

/* ------------------------------------------------------------- faults.c */
int  emu_script_add(emu_state *st, const cJSON *req, char *err, size_t errlen);
emu_script *emu_script_pop(emu_state *st, int route);
void emu_script_free(emu_script *s);
void emu_scripts_clear(emu_state *st);

/* ------------------------------------------------------------- request */
#define EMU_MAX_QP 32
#define EMU_MAX_HDR 8

typedef struct emu_outcome {
    int      status;
    char    *body;
    size_t   body_len;
    const char *ctype;
    const char *hn[EMU_MAX_HDR];
    char    *hv[EMU_MAX_HDR];
    int      nh;
    emu_script *script; /* owns extra headers when scripted */
    int      drop;
    unsigned delay_ms;
} emu_outcome;

typedef struct emu_req {
    /* raw request */
    char       *uri;       /* raw, as received */
    char       *qbuf;      /* decoded query storage */
    const char *qk[EMU_MAX_QP], *qv[EMU_MAX_QP];
    int         nq;
    const char *method;
    const char *path;      /* decoded path (MHD's url) */
    const char *auth;
    const char *ctype_in;
    /* routing */
    int         route;
    int         path_route;  /* route matched by path, -1 none */
    const char *allow;       /* Allow header for 405 */
    size_t      idlen;
    int         is_control;
    char        idseg[64];   /* raw path id segment */
    /* body */
    sbuf        body;
    int         body_too_large;
    /* multipart */
    void       *pp;          /* struct MHD_PostProcessor* */
    int         multipart;
    sbuf        mp_query, mp_outcfg;
    int         mp_has_query, mp_has_outcfg;
    uint64_t    mp_bytes;
    unsigned    mp_files;
    char        mp_first_name[EMU_TITLE_MAX];
    char        mp_cur_key[32];
    int         mp_in_file;
    int         mp_oversize, mp_field_too_large, mp_bad, mp_stopped;
    uint64_t    mp_limit;
    size_t      body_limit;
    int         started;
    /* result */
    int         ws;
    emu_outcome out;
    int         have_outcome;
    int         suspended, resumed, aborted, sent;
    int64_t     t0_ns;
    void       *conn;
} emu_req;

const char *emu_req_q(const emu_req *r, const char *key);
void emu_req_parse_query(emu_req *r);
void emu_req_free(emu_req *r);

void emu_out_error(emu_req *r, int status, const char *msg);
void emu_out_json(emu_req *r, int status, sbuf *b); /* takes b's buffer */
void emu_out_clear(emu_outcome *o);
void emu_out_header(emu_req *r, const char *name, const char *value);

/* router.c: route + auth + rate limit + scripts + faults + dispatch; caller holds mu */
void emu_route_match(emu_req *r);
void emu_handle_api(nna_emu *e, emu_req *r);

/* api_tasks.c / api_agents.c (caller holds mu) */
void emu_api_run(nna_emu *e, emu_req *r, const emu_uuid *aid, int commit_only);
void emu_api_tasks_list(nna_emu *e, emu_req *r);
void emu_api_task_get(nna_emu *e, emu_req *r, int route, const emu_uuid *tid);
void emu_api_task_message(nna_emu *e, emu_req *r, const emu_uuid *tid);
void emu_api_task_cancel(nna_emu *e, emu_req *r, const emu_uuid *tid);
void emu_api_agents_list(nna_emu *e, emu_req *r);
void emu_api_agents_create(nna_emu *e, emu_req *r);
void emu_api_agent_get(nna_emu *e, emu_req *r, const emu_uuid *aid);
void emu_api_agent_update(nna_emu *e, emu_req *r, const emu_uuid *aid);
void emu_api_agent_versions(nna_emu *e, emu_req *r, const emu_uuid *aid);
void emu_api_agent_publish(nna_emu *e, emu_req *r, const emu_uuid *aid);
void emu_task_json(nna_emu *e, sbuf *b, const emu_task *t, int list_item);
void emu_agent_json(sbuf *b, const emu_agent *a, int full);
/* Parses a limit parameter: 0 ok; writes an error otherwise. */
int  emu_parse_limit(emu_req *r, int *limit);

/* multipart.c */
int  emu_mp_begin(emu_req *r, void *connection);
int  emu_mp_feed(emu_req *r, const char *data, size_t n);
void emu_mp_end(emu_req *r);

/* control.c: lock NOT held by the caller */
int  emu_control(nna_emu *e, const char *method, const char *path_q,
                 const char *body, size_t body_len, char **resp);

/* server.c */
int  emu_server_start(nna_emu *e, const char *host, unsigned port);
void emu_server_stop(nna_emu *e);
/* From a content reader: suspends the connection until due_ns (emu_mono_ns clock).
 * -1 when the server is stopping (nothing would resume it): end the reply instead. */
int  emu_server_resume_at(nna_emu *e, emu_req *r, void *conn, int64_t due_ns);
/* TCP connections accepted since the start (with TLS: one handshake each). Thread-safe. */
unsigned long long emu_server_connections(const nna_emu *e);
/* 1 when libmicrohttpd can serve TLS. */
int  emu_server_tls_supported(void);

#endif
