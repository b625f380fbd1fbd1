/* nna: "did you mean" — the closest known word to a misspelled command or subcommand, by
 * edit distance (insertions, deletions, substitutions and swaps of neighbours). */
#include <string.h>
#include "cli.h"

/* Optimal string alignment distance, capped at 9 (words are short). */
static unsigned distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 30 || m > 30) return 9;
    unsigned d[32][32];
    for (size_t i = 0; i <= n; i++) d[i][0] = (unsigned)i;
    for (size_t j = 0; j <= m; j++) d[0][j] = (unsigned)j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            unsigned cost = a[i - 1] != b[j - 1];
            unsigned v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v) v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[n][m] > 9 ? 9 : d[n][m];
}

const char *suggest(const char *word, const char *const *candidates)
{
    const char *best = NULL;
    unsigned best_d = 9;
    size_t len = strlen(word);
    /* Up to 1 edit for short words, 2 from 5 letters on: "lst" → list, "taks" → tasks. */
    unsigned limit = len >= 5 ? 2 : 1;
    for (size_t i = 0; candidates[i]; i++) {
        unsigned d = distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best_d <= limit ? best : NULL;
}

int unknown_word(const char *what, const char *word, const char *const *candidates,
                 const char *help)
{
    const char *s = suggest(word, candidates);
    if (s) return usage_error("unknown %s \"%s\"; did you mean \"%s\"? (see %s)", what, word, s, help);
    return usage_error("unknown %s \"%s\" (see %s)", what, word, help);
}
