/* nna-emu: the in-process API (emu.h). */
#include "emu_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void nna_emu_options_init(nna_emu_options *o)
{
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->control = 1;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    sbuf b;
    sb_init(&b);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sb_putn(&b, buf, n);
    int err = ferror(f);
    fclose(f);
    if (err) {
        sb_free(&b);
        return NULL;
    }
    return sb_steal(&b);
}

/* Reads the certificate and key for HTTPS. 0, or -errno with a message. */
static int load_tls(nna_emu *e, const nna_emu_options *o)
{
    if (!o->tls_cert && !o->tls_key)
        return 0;
    const char *why = NULL;
    int rc = -EINVAL;
    if (!o->tls_cert || !o->tls_key) {
        why = "--tls-cert and --tls-key go together";
    } else if (!emu_server_tls_supported()) {
        why = "this libmicrohttpd was built without TLS support";
        rc = -ENOTSUP;
    } else if (!(e->tls_cert_pem = read_file(o->tls_cert))) {
        why = "cannot read the TLS certificate";
        rc = errno ? -errno : -EIO;
    } else if (!(e->tls_key_pem = read_file(o->tls_key))) {
        why = "cannot read the TLS key";
        rc = errno ? -errno : -EIO;
    } else {
        return 0;
    }
    if (!o->quiet)
        fprintf(stderr, "nna-emu: %s\n", why);
    return rc;
}

static void free_tls(nna_emu *e)
{
    if (e->tls_key_pem) /* a private key does not linger in freed memory */
        memset(e->tls_key_pem, 0, strlen(e->tls_key_pem));
    free(e->tls_key_pem);
    free(e->tls_cert_pem);
    e->tls_key_pem = e->tls_cert_pem = NULL;
}

int nna_emu_start(const nna_emu_options *o, nna_emu **out)
{
    nna_emu_options def;
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!o) {
        nna_emu_options_init(&def);
        o = &def;
    }
    nna_emu *e = calloc(1, sizeof *e);
    if (!e)
        return -ENOMEM;
    pthread_mutex_init(&e->mu, NULL);
    e->control = o->control;
    e->quiet = o->quiet;
    e->idle_timeout = o->idle_timeout ? o->idle_timeout : 15;
    e->opt_seed = o->seed;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    e->id_rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40) ^
                (uint64_t)(uintptr_t)e;
    if (o->config_json) {
        e->config_text = strdup(o->config_json);
    } else if (o->config_path) {
        e->config_text = read_file(o->config_path);
        if (!e->config_text) {
            int rc = errno ? -errno : -EIO;
            if (!o->quiet)
                fprintf(stderr, "nna-emu: cannot read config %s\n", o->config_path);
            pthread_mutex_destroy(&e->mu);
            free(e);
            return rc;
        }
    } else {
        e->config_text = strdup(emu_default_config_json());
    }
    if (!e->config_text) {
        pthread_mutex_destroy(&e->mu);
        free(e);
        return -ENOMEM;
    }
    char err[256] = "";
    if (emu_state_load(e, e->config_text, err, sizeof err) != 0) {
        if (!o->quiet)
            fprintf(stderr, "nna-emu: invalid configuration: %s\n", err);
        free(e->config_text);
        pthread_mutex_destroy(&e->mu);
        free(e);
        return -EINVAL;
    }
    if (o->log_path) {
        e->logf = fopen(o->log_path, "a");
        if (!e->logf) {
            int rc = -errno;
            if (!o->quiet)
                fprintf(stderr, "nna-emu: cannot open log file %s\n", o->log_path);
            emu_state_free(&e->st);
            free(e->config_text);
            pthread_mutex_destroy(&e->mu);
            free(e);
            return rc;
        }
    }
    int rc = load_tls(e, o);
    if (rc == 0) {
        rc = emu_server_start(e, o->host ? o->host : "127.0.0.1", o->port);
        if (rc != 0 && !o->quiet)
            fprintf(stderr, "nna-emu: cannot listen on %s:%u%s: %s\n",
                    o->host ? o->host : "127.0.0.1", o->port,
                    e->tls_cert_pem ? " with TLS (is the key the certificate's?)" : "",
                    strerror(-rc));
    }
    if (rc != 0) {
        free_tls(e);
        if (e->logf)
            fclose(e->logf);
        emu_state_free(&e->st);
        free(e->config_text);
        pthread_mutex_destroy(&e->mu);
        free(e);
        return rc;
    }
    *out = e;
    return 0;
}

uint16_t nna_emu_port(const nna_emu *e) { return e ? e->port : 0; }

void nna_emu_stop(nna_emu *e)
{
    if (!e)
        return;
    emu_server_stop(e);
    free_tls(e);
    if (e->logf) {
        fflush(e->logf);
        fclose(e->logf);
    }
    emu_state_free(&e->st);
    free(e->config_text);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

int nna_emu_control(nna_emu *e, const char *method, const char *path, const char *json_body,
                    char **response)
{
    if (response)
        *response = NULL;
    if (!e || !method || !path)
        return 400;
    return emu_control(e, method, path, json_body ? json_body : "",
                       json_body ? strlen(json_body) : 0, response);
}
