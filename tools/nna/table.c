/* nna --format table: output for people. The JSON values a command would print as lines
 * are collected and, when the command ends, printed as one aligned table (several values)
 * or as "key  value" lines (a single value). Errors become one plain sentence. JSON lines
 * stay the default when standard output is not a terminal.
 *
 * Columns are the well-known fields present in the rows (ids, names, statuses, times,
 * titles...), in a fixed order, each cut to fit the terminal width with "…". */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include "cli.h"

static struct {
    int     on;          /* table output chosen */
    int     plain_err;   /* errors as sentences */
    cJSON  *rows;        /* array of the collected values */
} T = { 0, -1, NULL };

static const char *const PREFERRED[] = {
    "line", "task_id", "id", "name", "status", "agent_id", "version", "title", "role", "type",
    "content", "summary", "error", "created_at", "updated_at", NULL
};
/* Columns that may be cut to fit a terminal; ids and times never are (people copy them). */
static const char *const CUTTABLE[] = { "name", "title", "content", "summary", "error", NULL };
#define MAX_COLS 7
#define MAX_CELL 48

int table_begin(const cli *c)
{
    T.on = c->format == FORMAT_TABLE || (c->format == FORMAT_AUTO && isatty(1));
    return T.on;
}

int table_collect(const cJSON *j)
{
    if (!T.on) return 0;
    if (!T.rows) T.rows = cJSON_CreateArray();
    cJSON_AddItemToArray(T.rows, cJSON_Duplicate(j, 1));
    return 1;
}

/* The text of a cell (malloc'd): strings as they are, null as "-", the rest as JSON. */
static char *cell_text(const cJSON *v)
{
    if (!v || cJSON_IsNull(v)) return xstrdup("-");
    if (cJSON_IsString(v)) return xstrdup(v->valuestring);
    char *s = cJSON_PrintUnformatted(v);
    return s ? s : xstrdup("?");
}

/* Display columns of UTF-8 text (continuation bytes do not count); control characters are
 * shown as spaces so a value cannot move the cursor. */
static size_t width_of(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) w += (*p & 0xC0) != 0x80;
    return w;
}

static void put_cell(const char *s, size_t width, int pad)
{
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)s;
    size_t total = width_of(s);
    for (; *p; p++) {
        int lead = (*p & 0xC0) != 0x80;
        if (lead && total > width && w + 1 >= width) break;
        if (lead && w >= width) break;
        w += lead;
        putchar(*p < ' ' || *p == 0x7f ? ' ' : *p);
    }
    if (total > width && width > 0) {
        fputs("…", stdout);
        w++;
    }
    if (pad) for (; w < width; w++) putchar(' ');
}

/* The width to fit: the terminal's, or unlimited when the table goes to a file or pipe. */
static size_t terminal_columns(void)
{
    struct winsize ws;
    if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40) return ws.ws_col;
    return (size_t)-1;
}

static int cuttable(const char *col)
{
    for (size_t i = 0; CUTTABLE[i]; i++)
        if (strcmp(col, CUTTABLE[i]) == 0) return 1;
    return 0;
}

static void print_single(const cJSON *o)
{
    if (!cJSON_IsObject(o)) {
        char *s = cell_text(o);
        printf("%s\n", s);
        free(s);
        return;
    }
    size_t kw = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, o) if (strlen(it->string) > kw) kw = strlen(it->string);
    cJSON_ArrayForEach(it, o) {
        char *s = cell_text(it);
        printf("%-*s  ", (int)kw, it->string);
        put_cell(s, (size_t)-1 / 2, 0);
        putchar('\n');
        free(s);
    }
}

static void print_rows(const cJSON *rows)
{
    const char *cols[MAX_COLS];
    size_t ncols = 0, w[MAX_COLS];
    for (size_t k = 0; PREFERRED[k] && ncols < MAX_COLS; k++) {
        const cJSON *r;
        cJSON_ArrayForEach(r, rows) {
            if (cJSON_GetObjectItemCaseSensitive(r, PREFERRED[k])) {
                cols[ncols++] = PREFERRED[k];
                break;
            }
        }
    }
    if (ncols == 0) { /* nothing well-known: the first row's keys */
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetArrayItem(rows, 0))
            if (ncols < MAX_COLS) cols[ncols++] = it->string;
    }
    for (size_t i = 0; i < ncols; i++) {
        w[i] = width_of(cols[i]);
        const cJSON *r;
        cJSON_ArrayForEach(r, rows) {
            char *s = cell_text(cJSON_GetObjectItemCaseSensitive(r, cols[i]));
            size_t sw = width_of(s);
            if (sw > w[i]) w[i] = sw > MAX_CELL && cuttable(cols[i]) ? MAX_CELL : sw;
            free(s);
        }
    }
    /* Narrow the widest text column until the line fits the terminal. */
    size_t limit = terminal_columns(), total;
    for (;;) {
        total = 0;
        size_t widest = MAX_COLS;
        for (size_t i = 0; i < ncols; i++) {
            total += w[i] + 2;
            if (cuttable(cols[i]) && (widest == MAX_COLS || w[i] > w[widest])) widest = i;
        }
        if (total <= limit || widest == MAX_COLS || w[widest] <= 12) break;
        w[widest]--;
    }
    for (size_t i = 0; i < ncols; i++) {
        char up[64];
        size_t n = strlen(cols[i]);
        for (size_t k = 0; k < n && k < sizeof up - 1; k++)
            up[k] = cols[i][k] >= 'a' && cols[i][k] <= 'z' ? cols[i][k] - 32 : cols[i][k];
        up[n < sizeof up - 1 ? n : sizeof up - 1] = '\0';
        put_cell(up, w[i], i + 1 < ncols);
        if (i + 1 < ncols) fputs("  ", stdout);
    }
    putchar('\n');
    const cJSON *r;
    cJSON_ArrayForEach(r, rows) {
        for (size_t i = 0; i < ncols; i++) {
            char *s = cell_text(cJSON_GetObjectItemCaseSensitive(r, cols[i]));
            put_cell(s, w[i], i + 1 < ncols);
            if (i + 1 < ncols) fputs("  ", stdout);
            free(s);
        }
        putchar('\n');
    }
}

void table_end(void)
{
    if (!T.rows) return;
    int n = cJSON_GetArraySize(T.rows);
    if (n == 1) print_single(cJSON_GetArrayItem(T.rows, 0));
    else if (n > 1) print_rows(T.rows);
    cJSON_Delete(T.rows);
    T.rows = NULL;
    fflush(stdout);
}

void errors_plain_set(int on) { T.plain_err = on; }

int errors_plain_print(const cJSON *e)
{
    if (T.plain_err < 0) T.plain_err = isatty(2);
    if (!T.plain_err) return 0;
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "error");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
    const cJSON *http = cJSON_GetObjectItemCaseSensitive(e, "status");
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(e, "detail");
    const cJSON *ra = cJSON_GetObjectItemCaseSensitive(e, "retry_after");
    fflush(stdout);
    fprintf(stderr, "nna: %s", cJSON_IsString(msg) ? msg->valuestring : "error");
    if (cJSON_IsString(detail)) fprintf(stderr, " (%s)", detail->valuestring);
    if (cJSON_IsNumber(http) && http->valuedouble > 0 && !strstr(msg ? msg->valuestring : "", "HTTP") &&
        !(cJSON_IsString(detail) && strstr(detail->valuestring, "HTTP")))
        fprintf(stderr, " [HTTP %.0f]", http->valuedouble);
    if (cJSON_IsNumber(ra)) fprintf(stderr, " (retry after %g s)", ra->valuedouble);
    if (cJSON_IsString(code) && strcmp(code->valuestring, "usage") != 0)
        fprintf(stderr, " [%s]", code->valuestring);
    fputc('\n', stderr);
    return 1;
}
