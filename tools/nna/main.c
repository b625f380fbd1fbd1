/* nna — command-line client of the Nanonets Agents API, built on libnna.
 *
 *   nna [global options] COMMAND [args]
 *
 * main.c: global options and dispatch. Each command lives in its own file (cmd_*.c,
 * batch.c, demo.c); see docs/cli.md. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static void usage(FILE *out)
{
    fputs(
"usage: nna [global options] COMMAND [args]\n"
"\n"
"Command-line client of the Nanonets Agents API (libnna " NNA_VERSION ").\n"
"\n"
"Commands:\n"
"  agents list|get|create|update|versions|publish   manage agents\n"
"  run AGENT_ID [--query TEXT] [--file PATH]... [--output-config JSON] [--wait]\n"
"                                                   start a task (and wait for it)\n"
"  tasks list|get|summary|result|messages|cancel|message|wait\n"
"                                                   inspect and drive tasks\n"
"  batch --input FILE|- --output FILE|- [--wait] [--resume]\n"
"                                                   crash-safe fan-out of many runs\n"
"  demo [--runs N]                                  fan-out against an in-process\n"
"                                                   emulator (no API key needed)\n"
"  version                                          versions of nna and libnna\n"
"  completion bash|zsh                              shell completion script\n"
"\n", out);
    cli_global_help(out);
    fputs(
"\n"
"Output: JSON on stdout, one object per line (lists: one item per line). Errors: one\n"
"JSON line on stderr with \"error\" and \"status\" (HTTP status, 0 when none).\n"
"Exit codes: 0 ok, 1 a waited task failed/stopped/needs input, 2 usage or invalid\n"
"input (nothing sent), 3 auth (401/403), 4 not found, 5 conflict (409), 6 other 4xx,\n"
"7 still rate-limited (429), 8 server error (5xx), 9 network, timeout or outcome\n"
"unknown.\n"
"\n"
"Environment: NANONETS_API_KEY, NANONETS_BASE_URL, NNA_PROFILE, NNA_CONFIG.\n"
"Configuration: ~/.config/nna/config.toml (base_url, api_key_file, format, ... and\n"
"[profile.NAME] sections); options beat a chosen profile, which beats the environment,\n"
"which beats the file's top level.\n"
"See 'nna COMMAND --help' and docs/cli.md.\n", out);
}

static const char *const commands[] = { "agents", "tasks", "run", "batch", "demo",
                                        "version", "completion", "help", NULL };

/* The CLI's own version and the library's it runs with (they differ after a partial
 * upgrade). */
static int print_version(void)
{
    printf("nna %s (libnna %s)\n", NNA_VERSION, nna_version());
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    cli c;
    memset(&c, 0, sizeof c);
    c.deadline = -1;
    c.progress = -1;
    c.format = FORMAT_AUTO;
    /* Writing to a closed pipe (nna ... | head) must end quietly with EPIPE, not a signal
     * in the middle of a journal write. */
    signal(SIGPIPE, SIG_IGN);

    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (arg_is_help(a)) {
            usage(stdout);
            return EXIT_OK;
        }
        if (arg_is(a, "--version", NULL)) return print_version();
        int r = cli_global_option(&c, argc, argv, &i);
        if (r < 0) return EXIT_USAGE;
        if (r > 0) continue;
        if (a[0] == '-') return usage_error("unknown global option %s (see nna --help)", a);
        break;
    }
    if (i >= argc) {
        usage(stderr);
        return usage_error("no command given");
    }
    const char *cmd = argv[i];
    int sub_argc = argc - i - 1;
    char **sub_argv = argv + i + 1;
    int rc;
    if (strcmp(cmd, "agents") == 0) rc = cmd_agents(&c, sub_argc, sub_argv);
    else if (strcmp(cmd, "tasks") == 0) rc = cmd_tasks(&c, sub_argc, sub_argv);
    else if (strcmp(cmd, "run") == 0) rc = cmd_run(&c, sub_argc, sub_argv);
    else if (strcmp(cmd, "batch") == 0) rc = cmd_batch(&c, sub_argc, sub_argv);
    else if (strcmp(cmd, "demo") == 0) rc = cmd_demo(&c, sub_argc, sub_argv);
    else if (strcmp(cmd, "completion") == 0) rc = cmd_completion(sub_argc, sub_argv);
    else if (strcmp(cmd, "version") == 0) rc = print_version();
    else if (strcmp(cmd, "help") == 0) {
        usage(stdout);
        rc = EXIT_OK;
    } else {
        rc = unknown_word("command", cmd, commands, "nna --help");
    }
    cli_disconnect(&c);
    table_end();
    fflush(stdout);
    return rc;
}
