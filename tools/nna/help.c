/* nna: the help of one subcommand, cut from its command's help text, so that
 * 'nna agents get --help' says what get does and one text stays the source.
 *
 * The layout read: usage lines ("usage: nna CMD A|B ..." and continuation lines starting
 * with spaces then "nna CMD"), then entries: a line "  SUB  text" followed by lines
 * indented deeper than two spaces. */
#define _GNU_SOURCE /* memmem */
#include <string.h>
#include "cli.h"

/* 1 when the first word after "nna CMD " on a usage line names sub (maybe among a|b|c). */
static int usage_names(const char *line, size_t len, const char *cmd, const char *sub)
{
    char prefix[64], word[128];
    snprintf(prefix, sizeof prefix, "nna %s ", cmd);
    const char *p = memmem(line, len, prefix, strlen(prefix));
    if (!p) return 0;
    p += strlen(prefix);
    size_t k = strcspn(p, " \n");
    if (k >= sizeof word) return 0;
    memcpy(word, p, k);
    word[k] = '\0';
    char *save = NULL;
    for (char *w = strtok_r(word, "|", &save); w; w = strtok_r(NULL, "|", &save))
        if (strcmp(w, sub) == 0) return 1;
    return 0;
}

void print_sub_help(const char *help, const char *cmd, const char *sub)
{
    int in_entry = 0, in_usage = 0, first = 1;
    size_t n = strlen(sub);
    for (const char *line = help; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        int usage = strncmp(line, "usage: ", 7) == 0 ||
                    (len > 7 && strncmp(line, "       nna ", 11) == 0);
        if (usage) in_usage = usage_names(line, len, cmd, sub);
        if (usage && in_usage) {
            printf("%s%.*s\n", first ? "usage: " : "       ", (int)len - 7, line + 7);
            first = 0;
        } else if (usage || (in_usage && len > 8 && strncmp(line, "        ", 8) == 0)) {
            if (in_usage) printf("%.*s\n", (int)len, line); /* a wrapped usage line */
        } else if (len > 2 + n && strncmp(line, "  ", 2) == 0 && line[2] != ' ') {
            in_entry = strncmp(line + 2, sub, n) == 0 && line[2 + n] == ' ';
            if (in_entry) printf("\n%.*s\n", (int)len, line);
        } else if (in_entry && len > 2 && strncmp(line, "   ", 3) == 0) {
            printf("%.*s\n", (int)len, line);
        } else {
            in_entry = 0;
        }
        line += len + (nl != NULL);
    }
    printf("\nGlobal options are accepted anywhere (see nna --help); all subcommands: "
           "nna %s --help\n", cmd);
}
