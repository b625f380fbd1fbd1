/* nna: the configuration file — ~/.config/nna/config.toml ($XDG_CONFIG_HOME/nna/, or the
 * file $NNA_CONFIG names): defaults and named profiles.
 *
 *   base_url = "https://agents.nanonets.com"     # top level: defaults
 *   api_key_file = "~/.nna-key"
 *   format = "table"
 *   profile = "prod"                             # the profile used without --profile
 *   [profile.staging]
 *   base_url = "https://staging.example.com"
 *   api_key_file = "~/.nna-staging-key"
 *
 * Keys: base_url, api_key_file, format, max_inflight, max_attempts, deadline,
 * request_timeout (and profile at the top). A subset of TOML: one key = value per line,
 * strings in double quotes, numbers, # comments.
 *
 * Precedence: command line, then the chosen profile (--profile, $NNA_PROFILE, or the top
 * level's profile key), then the environment (NANONETS_BASE_URL, NANONETS_API_KEY), then
 * the top level. A profile named on purpose beats the environment, so a key exported for
 * one deployment is never sent to another's URL. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#define MAX_VALUES 32

static struct {
    char *owned[MAX_VALUES]; /* strings handed to the cli struct, freed at exit */
    int   n;
} K;

static const char *keep(char *s)
{
    if (K.n < MAX_VALUES) K.owned[K.n++] = s;
    return s;
}

void config_free(void)
{
    for (int i = 0; i < K.n; i++) free(K.owned[i]);
    K.n = 0;
}

/* The settings of one section. */
typedef struct section {
    char *base_url, *api_key_file, *format, *profile;
    char *max_inflight, *max_attempts, *deadline, *request_timeout;
} section;

static void section_free(section *s)
{
    free(s->base_url), free(s->api_key_file), free(s->format), free(s->profile);
    free(s->max_inflight), free(s->max_attempts), free(s->deadline), free(s->request_timeout);
    memset(s, 0, sizeof *s);
}

static char *config_path(void)
{
    const char *p = getenv("NNA_CONFIG");
    if (p && *p) return xstrdup(p);
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    strbuf b = { 0 };
    if (xdg && *xdg) strbuf_printf(&b, "%s/nna/config.toml", xdg);
    else if (home && *home) strbuf_printf(&b, "%s/.config/nna/config.toml", home);
    return b.p;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = '\0';
    return s;
}

/* A value: "string" (\" and \\ escapes) or a bare word (number). malloc'd, or NULL. */
static char *value_of(char *v)
{
    if (*v != '"') {
        char *hash = strchr(v, '#');
        if (hash) *hash = '\0';
        v = trim(v);
        return *v ? xstrdup(v) : NULL;
    }
    strbuf b = { 0 };
    for (v++; *v && *v != '"'; v++) {
        if (*v == '\\' && (v[1] == '"' || v[1] == '\\')) v++;
        strbuf_put(&b, v, 1);
    }
    if (*v != '"') { strbuf_free(&b); return NULL; }
    char *rest = trim(v + 1);
    if (*rest && *rest != '#') { strbuf_free(&b); return NULL; }
    if (!b.p) strbuf_puts(&b, "");
    return b.p;
}

static char **slot(section *s, const char *key, int top)
{
    if (strcmp(key, "base_url") == 0) return &s->base_url;
    if (strcmp(key, "api_key_file") == 0) return &s->api_key_file;
    if (strcmp(key, "format") == 0) return &s->format;
    if (strcmp(key, "max_inflight") == 0) return &s->max_inflight;
    if (strcmp(key, "max_attempts") == 0) return &s->max_attempts;
    if (strcmp(key, "deadline") == 0) return &s->deadline;
    if (strcmp(key, "request_timeout") == 0) return &s->request_timeout;
    if (top && strcmp(key, "profile") == 0) return &s->profile;
    return NULL;
}

/* Reads the top level and the section of `want` (NULL: the top level's profile key).
 * 0 ok (*found_profile set), -1 on a syntax error (printed). */
static int parse(const char *path, FILE *f, const char *want, section *top, section *prof,
                 int *found_profile)
{
    char line[4096];
    int lineno = 0, in = 0; /* 0 top, 1 the wanted profile, 2 another section */
    char *section_name = NULL;
    *found_profile = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        size_t n = strlen(s);
        if (n && s[n - 1] == '\n') s[--n] = '\0';
        s = trim(s);
        if (!*s || *s == '#') continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end) goto bad;
            *end = '\0';
            char *name = trim(s + 1);
            const char *p = strncmp(name, "profile.", 8) == 0 ? name + 8
                            : strncmp(name, "profiles.", 9) == 0 ? name + 9 : NULL;
            if (!p || !*p) goto bad;
            free(section_name);
            section_name = xstrdup(p);
            const char *w = want ? want : top->profile;
            in = w && strcmp(p, w) == 0 ? 1 : 2;
            if (in == 1) *found_profile = 1;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) goto bad;
        *eq = '\0';
        char *key = trim(s), *val = value_of(trim(eq + 1));
        if (!val) goto bad;
        char **dst = slot(in == 0 ? top : prof, key, in == 0);
        if (!dst) {
            free(val);
            usage_error("%s:%d: unknown setting \"%s\" (known: base_url, api_key_file, "
                        "format, max_inflight, max_attempts, deadline, request_timeout%s)",
                        path, lineno, key, in == 0 ? ", profile" : "");
            free(section_name);
            return -1;
        }
        if (in == 2) { free(val); continue; }
        free(*dst);
        *dst = val;
    }
    free(section_name);
    return 0;
bad:
    usage_error("%s:%d: expected key = \"value\", a number, or [profile.NAME]", path, lineno);
    free(section_name);
    return -1;
}

/* "~/x" → "$HOME/x". */
static const char *expand(const char *p)
{
    const char *home = getenv("HOME");
    if (strncmp(p, "~/", 2) != 0 || !home) return keep(xstrdup(p));
    strbuf b = { 0 };
    strbuf_printf(&b, "%s/%s", home, p + 2);
    return keep(b.p);
}

/* Applies one section's values to what is still unset. `over_env`: the section beats the
 * environment. 0, or -1 on a bad value (printed). */
static int apply(cli *c, const section *s, int over_env, const char *where)
{
    if (s->base_url && !c->base_url && (over_env || !getenv("NANONETS_BASE_URL")))
        c->base_url = keep(xstrdup(s->base_url));
    if (s->api_key_file && !c->key_file && (over_env || !getenv("NANONETS_API_KEY")))
        c->key_file = expand(s->api_key_file);
    if (s->format && c->format == FORMAT_AUTO) {
        if (strcmp(s->format, "table") == 0) c->format = FORMAT_TABLE;
        else if (strcmp(s->format, "json") == 0) c->format = FORMAT_JSON;
        else return usage_error("%s: format: expected \"table\" or \"json\"", where), -1;
        errors_plain_set(c->format == FORMAT_TABLE);
    }
    if (s->max_inflight && !c->max_inflight &&
        parse_uint("max_inflight", s->max_inflight, 1, 100000, &c->max_inflight))
        return -1;
    if (s->max_attempts && !c->max_attempts &&
        parse_uint("max_attempts", s->max_attempts, 1, 100, &c->max_attempts))
        return -1;
    if (s->deadline && c->deadline < 0 && parse_seconds("deadline", s->deadline, &c->deadline))
        return -1;
    if (s->request_timeout && c->request_timeout == 0 &&
        parse_seconds("request_timeout", s->request_timeout, &c->request_timeout))
        return -1;
    return 0;
}

int config_apply(cli *c)
{
    const char *want = c->profile ? c->profile : getenv("NNA_PROFILE");
    if (want && !*want) want = NULL;
    char *path = config_path();
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) {
        int explicit_file = getenv("NNA_CONFIG") && *getenv("NNA_CONFIG");
        int rc = EXIT_OK;
        if (explicit_file || want)
            rc = usage_error("%s%s: cannot read the configuration file %s: %s",
                             want ? "--profile " : "NNA_CONFIG", want ? want : "",
                             path ? path : "(no HOME)", strerror(errno));
        free(path);
        return rc;
    }
    section top, prof;
    memset(&top, 0, sizeof top);
    memset(&prof, 0, sizeof prof);
    int found = 0, rc = EXIT_OK;
    if (parse(path, f, want, &top, &prof, &found) != 0) {
        rc = EXIT_USAGE;
    } else if ((want || top.profile) && !found) {
        rc = usage_error("profile \"%s\" is not in %s (sections are [profile.NAME])",
                         want ? want : top.profile, path);
    } else if (apply(c, &prof, 1, path) != 0 || apply(c, &top, 0, path) != 0) {
        rc = EXIT_USAGE;
    }
    fclose(f);
    section_free(&top);
    section_free(&prof);
    free(path);
    return rc;
}
