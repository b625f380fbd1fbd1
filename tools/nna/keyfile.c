/* nna: reading the API key from a file (--api-key-file PATH, or - for standard input).
 *
 * The key is the first line, trimmed of surrounding blanks and a UTF-8 byte-order mark.
 * Whatever would be sent other than as written is refused, never cut silently: a NUL
 * byte, control characters, a key longer than KEY_MAX bytes, a file that is not a regular
 * file. A key file others can read gets a warning (as ssh gives for a private key). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "cli.h"

#define KEY_MAX 4096          /* bytes of the key line; docs/cli.md */
#define FILE_MAX (64 * 1024)  /* a key file is small; anything bigger is the wrong file */

/* Reads at most FILE_MAX + 1 bytes of fd into buf (size FILE_MAX + 2); the count or -1. */
static ssize_t read_all(int fd, char *buf)
{
    size_t n = 0;
    while (n < FILE_MAX + 1) {
        ssize_t r = read(fd, buf + n, FILE_MAX + 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        n += (size_t)r;
    }
    return (ssize_t)n;
}

static int open_key_file(const char *path)
{
    if (strcmp(path, "-") == 0) return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return usage_error("--api-key-file: cannot open %s: %s", path, strerror(errno)), -1;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return usage_error("--api-key-file: %s is %s, not a file holding the key", path,
                           S_ISDIR(sb.st_mode) ? "a directory" : "not a regular file"), -1;
    }
    if (sb.st_mode & 077)
        fprintf(stderr, "nna: warning: the API key file %s is accessible by others (mode "
                "%04o); restrict it with: chmod 600 %s\n", path, (unsigned)(sb.st_mode & 07777),
                path);
    return fd;
}

/* Checks the bytes of the key line [k, k+n) and returns a message, or NULL when fine. */
static const char *key_problem(const char *k, size_t n)
{
    if (memchr(k, '\0', n)) return "contains a NUL byte";
    if (n > KEY_MAX) return "is longer than 4096 bytes";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)k[i];
        if (ch < ' ' || ch == 0x7f) return "contains a control character";
        if (ch == ' ') return "contains whitespace";
    }
    return NULL;
}

char *key_from_file(const char *path)
{
    int fd = open_key_file(path);
    if (fd < 0) return NULL;
    char *buf = xcalloc(1, FILE_MAX + 2);
    ssize_t got = read_all(fd, buf);
    int err = errno;
    if (fd != 0) close(fd);
    char *key = NULL;
    const char *what = strcmp(path, "-") == 0 ? "standard input" : path;
    if (got < 0) {
        usage_error("--api-key-file: cannot read %s: %s", what, strerror(err));
        goto out;
    }
    if (got > FILE_MAX) {
        usage_error("--api-key-file: %s is larger than 64 KiB: not a key file", what);
        goto out;
    }
    size_t n = (size_t)got;
    char *k = buf;
    if (n >= 3 && memcmp(k, "\xEF\xBB\xBF", 3) == 0) k += 3, n -= 3; /* editors add it */
    char *nl = memchr(k, '\n', n);
    if (nl) n = (size_t)(nl - k);
    while (n > 0 && (k[n - 1] == '\r' || k[n - 1] == ' ' || k[n - 1] == '\t')) n--;
    while (n > 0 && (*k == ' ' || *k == '\t')) k++, n--;
    const char *why = n ? key_problem(k, n) : NULL;
    if (why) {
        usage_error("--api-key-file: the key in %s %s", what, why);
        goto out;
    }
    key = xcalloc(1, n + 1);
    memcpy(key, k, n);
out:
    memset(buf, 0, FILE_MAX + 2);
    free(buf);
    return key;
}

int key_check(const char *key, const char *source)
{
    const char *why = key_problem(key, strlen(key));
    return why ? usage_error("the API key from %s %s", source, why) : EXIT_OK;
}
