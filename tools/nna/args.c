/* nna: argument parsing helpers shared by the commands — option values, numbers, UUIDs,
 * timestamps, status lists, JSON bodies. Every failure prints a usage error. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include "cli.h"

int arg_value(int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0') return 0;
    if (*i + 1 >= argc) {
        usage_error("option %s needs a value", name);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

int arg_is(const char *arg, const char *a, const char *b)
{
    return (a && strcmp(arg, a) == 0) || (b && strcmp(arg, b) == 0);
}

int arg_is_help(const char *arg) { return arg_is(arg, "--help", "-h"); }

int parse_uint(const char *opt, const char *text, unsigned min, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    if (!text || !isdigit((unsigned char)text[0])) goto bad;
    unsigned long v = strtoul(text, &end, 10);
    if (errno || *end || v < min || v > max) goto bad;
    *out = (unsigned)v;
    return 0;
bad:
    usage_error("%s: expected an integer in %u..%u, got \"%s\"", opt, min, max, text ? text : "");
    return -1;
}

int parse_seconds(const char *opt, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = text && *text ? strtod(text, &end) : NAN;
    if (!text || !*text || errno || *end || !isfinite(v) || v < 0 || v > 1e9) {
        usage_error("%s: expected a number of seconds >= 0, got \"%s\"", opt, text ? text : "");
        return -1;
    }
    *out = v;
    return 0;
}

int is_uuid(const char *s)
{
    static const int dash[] = { 8, 13, 18, 23 };
    if (!s || strlen(s) != 36) return 0;
    for (int i = 0, d = 0; i < 36; i++) {
        if (d < 4 && i == dash[d]) {
            if (s[i] != '-') return 0;
            d++;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

int need_uuid(const char *what, const char *s)
{
    if (is_uuid(s)) return 0;
    usage_error("%s is not a UUID: \"%s\"", what, s ? s : "");
    return -1;
}

/* "YYYY-MM-DD" alone: midnight UTC of that day. */
static int date_only(const char *text, double *out)
{
    char full[32];
    if (strlen(text) != 10) return -1;
    snprintf(full, sizeof full, "%sT00:00:00Z", text);
    return iso_parse(full, out);
}

int parse_timestamp(const char *opt, const char *text, double *out)
{
    if (text && (iso_parse(text, out) == 0 || date_only(text, out) == 0)) return 0;
    if (text && isdigit((unsigned char)*text)) {
        char *end;
        errno = 0;
        double v = strtod(text, &end);
        if (!errno && !*end && isfinite(v) && v < 253402300800.0) {
            *out = v;
            return 0;
        }
    }
    usage_error("%s: expected an ISO-8601 time (2026-05-11T10:15:00Z), a date "
                "(2026-05-11, midnight UTC) or Unix seconds, got \"%s\"", opt, text ? text : "");
    return -1;
}

int check_status_list(const char *opt, const char *text)
{
    const char *p = text;
    if (!p || !*p) goto bad;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char word[32];
        if (n == 0 || n >= sizeof word) goto bad;
        memcpy(word, p, n);
        word[n] = '\0';
        if (nna_task_status_parse(word) == NNA_TASK_UNKNOWN) goto bad;
        p += n;
        if (*p == ',') {
            p++;
            if (!*p) goto bad;
        }
    }
    return 0;
bad:
    usage_error("%s: expected a comma-separated list of task statuses (pending, queued, "
                "running, waiting_for_input, awaiting_review, completed, failed, stopped), "
                "got \"%s\"", opt, text ? text : "");
    return -1;
}

static char *read_stream(FILE *f)
{
    strbuf b = { 0 };
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (strbuf_put(&b, chunk, n)) { strbuf_free(&b); return NULL; }
    if (ferror(f)) { strbuf_free(&b); return NULL; }
    if (!b.p) strbuf_puts(&b, "");
    return b.p;
}

char *load_json_object(const char *opt, const char *arg)
{
    char *text;
    if (arg[0] == '@') {
        FILE *f = strcmp(arg, "@-") == 0 ? stdin : fopen(arg + 1, "rb");
        if (!f) {
            usage_error("%s: cannot open %s: %s", opt, arg + 1, strerror(errno));
            return NULL;
        }
        text = read_stream(f);
        if (f != stdin) fclose(f);
        if (!text) {
            usage_error("%s: cannot read %s", opt, arg + 1);
            return NULL;
        }
    } else {
        text = xstrdup(arg);
    }
    /* Checked strictly and sent as written: a cJSON round trip would re-print numbers. */
    nna_json_span v;
    const char *why = "not an object";
    if (nna_json_validate(text, strlen(text), &v, &why, NULL) != 0 || nna_json_kind(text, v) != '{') {
        usage_error("%s: expected a JSON object (%s)", opt, why);
        free(text);
        return NULL;
    }
    memmove(text, text + v.off, v.len); /* only the whitespace around it goes */
    text[v.len] = '\0';
    return text;
}

const char *output_config_problem(const cJSON *oc)
{
    if (!cJSON_IsObject(oc)) return "is not a JSON object";
    const cJSON *it;
    cJSON_ArrayForEach(it, oc) {
        if (strcmp(it->string, "output_schema") != 0 && strcmp(it->string, "instructions") != 0)
            return "has a field other than output_schema and instructions";
        if (!cJSON_IsString(it))
            return "has a non-string output_schema or instructions (a JSON schema is given "
                   "serialised as a string)";
    }
    return NULL;
}
