/* nna agents list|get|create|update|versions|publish */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char HELP[] =
"usage: nna agents list [--q TEXT] [--status LIST] [--limit N] [--all]\n"
"       nna agents get AGENT_ID\n"
"       nna agents create --json BODY\n"
"       nna agents update AGENT_ID --json BODY\n"
"       nna agents versions AGENT_ID [--limit N] [--all]\n"
"       nna agents publish AGENT_ID\n"
"\n"
"  list       GET /agents: one agent version per line, newest first\n"
"             --q TEXT       case-insensitive substring of the name\n"
"             --status LIST  comma-separated draft,published,archived (default: all\n"
"                            but archived)\n"
"             --limit N      page size 1..100 (default 20; 100 with --all)\n"
"             --all          every page, not just the first\n"
"  get        GET /agents/{id}: the agent with its config\n"
"  create     POST /agents; BODY is a JSON object with any of name, system_prompt,\n"
"             config (object); {} is valid. Never re-sent blindly: a lost answer ends\n"
"             with exit 9 (look with 'agents list --q NAME' before trying again)\n"
"  update     PATCH /agents/{id}; BODY has any of name, system_prompt, config (replaces\n"
"             the whole config), is_active (true/false). Edits in place\n"
"  versions   GET /agents/{id}/versions: one version per line, newest first\n"
"  publish    POST /agents/{id}/versions/publish: publishes the draft (exit 5 when\n"
"             there is none)\n"
"\n"
"BODY is JSON text, @FILE, or @- for standard input.\n"
"Output: one JSON object per line. Global options are accepted anywhere.\n";

typedef struct opts {
    const char *pos[4];
    int         npos;
    const char *q, *status, *json;
    unsigned    limit;
    int         all;
} opts;

/* Parses the options of an agents subcommand; `allowed` lists which of --q --status
 * --limit --all --json it takes. Returns -1 (exit 2 printed), 1 for help, 0 ok. */
static int parse(cli *c, const char *sub, int argc, char **argv, const char *allowed, opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        int r;
        if (arg_is_help(a)) {
            print_sub_help(HELP, "agents", sub);
            return 1;
        }
        if (strstr(allowed, "q") && (r = arg_value(argc, argv, &i, "--q", &v))) {
            if (r < 0) return -1;
            o->q = v;
            continue;
        }
        if (strstr(allowed, "status") && (r = arg_value(argc, argv, &i, "--status", &v))) {
            if (r < 0) return -1;
            o->status = v;
            continue;
        }
        if (strstr(allowed, "limit") && (r = arg_value(argc, argv, &i, "--limit", &v))) {
            if (r < 0 || parse_uint("--limit", v, 1, 100, &o->limit)) return -1;
            continue;
        }
        if (strstr(allowed, "json") && (r = arg_value(argc, argv, &i, "--json", &v))) {
            if (r < 0) return -1;
            o->json = v;
            continue;
        }
        if (strstr(allowed, "all") && arg_is(a, "--all", NULL)) {
            o->all = 1;
            continue;
        }
        if ((r = cli_global_option(c, argc, argv, &i))) {
            if (r < 0) return -1;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            usage_error("unknown option %s for 'nna agents %s' (see nna agents --help)", a, sub);
            return -1;
        }
        if (o->npos >= 4) {
            usage_error("too many arguments for 'nna agents %s'", sub);
            return -1;
        }
        o->pos[o->npos++] = a;
    }
    return 0;
}

static int need_args(const char *sub, const opts *o, int n, const char *what)
{
    if (o->npos == n) return 0;
    usage_error("'nna agents %s' takes %s", sub, what);
    return -1;
}

static int check_agent_status_list(const char *text)
{
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, ",");
        char w[16];
        if (n == 0 || n >= sizeof w) goto bad;
        memcpy(w, p, n);
        w[n] = '\0';
        if (nna_agent_status_parse(w) == NNA_AGENT_UNKNOWN) goto bad;
        p += n;
        if (*p == ',' && !*++p) goto bad;
    }
    if (*text) return 0;
bad:
    usage_error("--status: expected a comma-separated list of draft, published, archived; "
                "got \"%s\"", text);
    return -1;
}

/* Reads the body's known fields; unknown fields or wrong types are a usage error. */
typedef struct body {
    cJSON *root;
    const char *name, *system_prompt;
    char *config_json;   /* the caller's bytes of "config" (sent as written) */
    int is_active; /* -1 absent */
} body;

/* The caller's own text of member `key` of the object `text` (validated), or NULL. */
static char *member_text(const char *text, const char *key)
{
    nna_json_span obj, v;
    if (nna_json_validate(text, strlen(text), &obj, NULL, NULL) != 0 ||
        !nna_json_member(text, obj, key, &v))
        return NULL;
    char *s = xcalloc(v.len + 1, 1);
    memcpy(s, text + v.off, v.len);
    s[v.len] = '\0';
    return s;
}

static int parse_body(const char *arg, int allow_active, body *b)
{
    memset(b, 0, sizeof *b);
    b->is_active = -1;
    char *text = load_json_object("--json", arg);
    if (!text) return -1;
    b->root = cJSON_Parse(text);
    b->config_json = member_text(text, "config");
    free(text);
    const cJSON *it;
    cJSON_ArrayForEach(it, b->root) {
        const char *k = it->string;
        if (strcmp(k, "name") == 0 && cJSON_IsString(it) && it->valuestring[0]) {
            b->name = it->valuestring;
        } else if (strcmp(k, "system_prompt") == 0 && cJSON_IsString(it)) {
            b->system_prompt = it->valuestring;
        } else if (strcmp(k, "config") == 0 && cJSON_IsObject(it)) {
            /* b->config_json holds its bytes */
        } else if (allow_active && strcmp(k, "is_active") == 0 && cJSON_IsBool(it)) {
            b->is_active = cJSON_IsTrue(it);
        } else {
            usage_error("--json: field \"%s\" is unknown or has the wrong type (expected: "
                        "name: non-empty string, system_prompt: string, config: object%s)",
                        k, allow_active ? ", is_active: boolean" : "");
            return -1;
        }
    }
    return 0;
}

static void free_body(body *b)
{
    cJSON_Delete(b->root);
    free(b->config_json);
}

int cmd_agents(cli *c, int argc, char **argv)
{
    if (argc < 1 || arg_is_help(argv[0])) {
        fputs(HELP, argc < 1 ? stderr : stdout);
        return argc < 1 ? usage_error("'nna %s' needs a subcommand", "agents") : EXIT_OK;
    }
    const char *sub = argv[0];
    opts o;
    int r, rc;
    if (strcmp(sub, "list") == 0) {
        if ((r = parse(c, sub, argc - 1, argv + 1, "q status limit all", &o))) return r > 0 ? EXIT_OK : EXIT_USAGE;
        if (need_args(sub, &o, 0, "no arguments")) return EXIT_USAGE;
        if (o.status && check_agent_status_list(o.status)) return EXIT_USAGE;
        if ((rc = cli_connect(c, NULL))) return rc;
        nna_agents_list_options lo;
        nna_agents_list_options_init(&lo);
        lo.q = o.q;
        lo.status = o.status;
        lo.limit = o.limit;
        if (o.all) return await_walk(c, nna_agents_walk(c->client, &lo, print_agent_item, NULL));
        nna_future *f = nna_agents_list(c->client, &lo);
        if (!f) return report_error(NNA_ENOMEM, 0, NULL);
        if (cli_await(c, f) == NNA_OK) {
            const nna_agent_page *p = nna_future_result(f);
            print_agent_page(p);
            rc = EXIT_OK;
        } else {
            rc = report_future_error(f);
        }
        nna_future_unref(f);
        return rc;
    }
    if (strcmp(sub, "get") == 0 || strcmp(sub, "publish") == 0) {
        if ((r = parse(c, sub, argc - 1, argv + 1, "", &o))) return r > 0 ? EXIT_OK : EXIT_USAGE;
        if (need_args(sub, &o, 1, "one AGENT_ID") || need_uuid("AGENT_ID", o.pos[0])) return EXIT_USAGE;
        if ((rc = cli_connect(c, NULL))) return rc;
        return await_print(c, sub[0] == 'g' ? nna_agents_get(c->client, o.pos[0])
                                            : nna_agents_publish(c->client, o.pos[0]));
    }
    if (strcmp(sub, "create") == 0 || strcmp(sub, "update") == 0) {
        int upd = sub[0] == 'u';
        if ((r = parse(c, sub, argc - 1, argv + 1, "json", &o))) return r > 0 ? EXIT_OK : EXIT_USAGE;
        if (need_args(sub, &o, upd, upd ? "one AGENT_ID" : "no arguments")) return EXIT_USAGE;
        if (upd && need_uuid("AGENT_ID", o.pos[0])) return EXIT_USAGE;
        if (!o.json) return usage_error("'nna agents %s' needs --json BODY", sub);
        body b;
        if (parse_body(o.json, upd, &b)) {
            free_body(&b);
            return EXIT_USAGE;
        }
        if ((rc = cli_connect(c, NULL))) {
            free_body(&b);
            return rc;
        }
        nna_future *f;
        if (upd) {
            nna_agent_update_options uo;
            nna_agent_update_options_init(&uo);
            uo.name = b.name;
            uo.system_prompt = b.system_prompt;
            uo.config_json = b.config_json;
            uo.is_active = b.is_active;
            f = nna_agents_update(c->client, o.pos[0], &uo);
        } else {
            nna_agent_create_options co;
            nna_agent_create_options_init(&co);
            co.name = b.name;
            co.system_prompt = b.system_prompt;
            co.config_json = b.config_json;
            f = nna_agents_create(c->client, &co);
        }
        free_body(&b);
        return await_print(c, f);
    }
    if (strcmp(sub, "versions") == 0) {
        if ((r = parse(c, sub, argc - 1, argv + 1, "limit all", &o))) return r > 0 ? EXIT_OK : EXIT_USAGE;
        if (need_args(sub, &o, 1, "one AGENT_ID") || need_uuid("AGENT_ID", o.pos[0])) return EXIT_USAGE;
        if ((rc = cli_connect(c, NULL))) return rc;
        nna_page_options po;
        nna_page_options_init(&po);
        po.limit = o.limit;
        if (o.all)
            return await_walk(c, nna_agents_versions_walk(c->client, o.pos[0], &po,
                                                          print_agent_item, NULL));
        nna_future *f = nna_agents_versions(c->client, o.pos[0], &po);
        if (!f) return report_error(NNA_ENOMEM, 0, NULL);
        if (cli_await(c, f) == NNA_OK) {
            const nna_agent_page *p = nna_future_result(f);
            print_agent_page(p);
            rc = EXIT_OK;
        } else {
            rc = report_future_error(f);
        }
        nna_future_unref(f);
        return rc;
    }
    static const char *const subs[] = { "list", "get", "create", "update", "versions", "publish", NULL };
    return unknown_word("'nna agents' subcommand", sub, subs, "nna agents --help");
}
