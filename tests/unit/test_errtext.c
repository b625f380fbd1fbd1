/* Error texts (issue 17 item 6): redact before cutting, cap what is copied, unpack the
 * common envelopes, redact whole tokens only (for short keys), keep the text printable. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "errtext.h"

#define KEY "sk-9f8e7d6c5b4a39281706f5e4d3c2b1a0"   /* 35 bytes: redacted anywhere */

static char *text_of(long status, const char *body, const char *key)
{
    cJSON *j = cJSON_Parse(body);
    char *t = nna_error_text(status, j, body, strlen(body), NULL, key);
    cJSON_Delete(j);
    ck_assert_ptr_nonnull(t);
    return t;
}

static void ck_text(long status, const char *body, const char *key, const char *want)
{
    char *t = text_of(status, body, key);
    ck_assert_str_eq(t, want);
    free(t);
}

/* A key that starts at any offset near the 200-byte cut of an excerpt: no byte of it
 * survives (the old code cut first, so a key at offset 195 left its first 5 bytes). */
START_TEST(key_across_the_excerpt_cut_never_leaks)
{
    static const char *const keys[] = { KEY, "test-key", "k3y" };
    for (size_t k = 0; k < 3; k++) {
        size_t kl = strlen(keys[k]);
        for (size_t off = 150; off < 230; off++) {
            char body[512];
            memset(body, '#', off);
            body[off - 1] = ' ';
            memcpy(body + off, keys[k], kl);
            strcpy(body + off + kl, " and more words follow here");
            char *t = nna_error_text(500, NULL, body, strlen(body), NULL, keys[k]);
            ck_assert_ptr_nonnull(t);
            /* no prefix of the key of 3 bytes or more at the end, nor the key inside */
            ck_assert_msg(!strstr(t, keys[k]), "offset %zu: %s", off, t);
            size_t tl = strlen(t);
            if (tl >= 3 && strcmp(t + tl - 3, "...") == 0) tl -= 3;
            for (size_t n = 3; n < kl; n++)
                ck_assert_msg(tl < n || memcmp(t + tl - n, keys[k], n) != 0,
                              "offset %zu leaks %zu bytes: %s", off, n, t);
            ck_assert_uint_le(strlen(t), strlen("HTTP 500: ") + NNA_ERRTEXT_EXCERPT + 13);
            free(t);
        }
    }
}
END_TEST

/* A 10 MB "error" string is not copied whole. */
START_TEST(huge_server_message_is_capped)
{
    size_t n = 10u << 20;
    char *body = malloc(n + 32);
    strcpy(body, "{\"error\":\"");
    memset(body + 10, 'x', n);
    strcpy(body + 10 + n, "\"}");
    char *t = text_of(400, body, KEY);
    ck_assert_uint_eq(strlen(t), NNA_ERRTEXT_MAX + 3);
    ck_assert_str_eq(t + NNA_ERRTEXT_MAX, "...");
    free(t);
    free(body);
}
END_TEST

START_TEST(envelopes_are_unpacked)
{
    ck_text(404, "{\"error\":\"Task not found\"}", KEY, "Task not found");
    ck_text(400, "{\"error\":{\"message\":\"bad limit\",\"code\":17}}", KEY, "bad limit");
    ck_text(400, "{\"error\":{\"code\":17,\"detail\":\"nested detail\"}}", KEY, "nested detail");
    ck_text(422, "{\"detail\":\"field required\"}", KEY, "field required");
    ck_text(422, "{\"detail\":[{\"loc\":[\"body\",\"query\"],\"msg\":\"field required\","
                 "\"type\":\"missing\"}]}", KEY, "field required");
    ck_text(400, "{\"message\":\"plain message\"}", KEY, "plain message");
    ck_text(400, "{\"errors\":[{\"message\":\"first\"},{\"message\":\"second\"}]}", KEY, "first");
    ck_text(401, "{\"error\":\"\",\"error_description\":\"token expired\"}", KEY,
            "token expired");
    ck_text(400, "{\"type\":\"about:blank\",\"title\":\"Bad Request\"}", KEY, "Bad Request");
    /* nothing usable: the status and an excerpt */
    ck_text(502, "{\"error\":{\"code\":1}}", KEY, "HTTP 502: {\"error\":{\"code\":1}}");
    ck_text(503, "<html>down</html>", KEY, "HTTP 503: <html>down</html>");
    ck_text(500, "[1,2]", KEY, "HTTP 500: [1,2]");
    /* a deep nesting stops (no recursion without end) */
    char deep[4096] = "";
    for (int i = 0; i < 200; i++) strcat(deep, "{\"error\":");
    strcat(deep, "\"x\"");
    for (int i = 0; i < 200; i++) strcat(deep, "}");
    char *t = text_of(500, deep, KEY);
    ck_assert(strncmp(t, "HTTP 500: ", 10) == 0);
    free(t);
    /* the transport's text without a status */
    t = nna_error_text(0, NULL, NULL, 0, "Couldn't connect to server", KEY);
    ck_assert_str_eq(t, "Couldn't connect to server");
    free(t);
    t = nna_error_text(0, NULL, NULL, 0, NULL, NULL);
    ck_assert_str_eq(t, "transport failure");
    free(t);
}
END_TEST

START_TEST(key_in_messages_is_redacted)
{
    ck_text(401, "{\"error\":\"invalid key " KEY "\"}", KEY, "invalid key [REDACTED]");
    ck_text(401, "{\"detail\":\"Bearer " KEY ", " KEY "x\"}", KEY,
            "Bearer [REDACTED], [REDACTED]x"); /* a long key is the key inside a word too */
    ck_text(401, "{\"error\":\"key=test-key.\"}", "test-key", "key=[REDACTED].");
    ck_text(500, "oops test-key", "test-key", "HTTP 500: oops [REDACTED]");
}
END_TEST

/* With a short key only whole tokens are the key: a one-letter key does not eat letters
 * out of words. */
START_TEST(short_keys_redact_whole_tokens_only)
{
    ck_text(400, "{\"error\":\"a bad value: a\"}", "a", "[REDACTED] bad value: [REDACTED]");
    ck_text(400, "{\"error\":\"cannot parse\"}", "a", "cannot parse");
    ck_text(400, "{\"error\":\"my-test-key is not test-key\"}", "test-key",
            "my-test-key is not [REDACTED]");
    char *s = nna_redact(strdup("x,x;xx x"), "x");
    ck_assert_str_eq(s, "[REDACTED],[REDACTED];xx [REDACTED]");
    free(s);
    s = nna_redact(strdup("nothing here"), "zz");
    ck_assert_str_eq(s, "nothing here");
    free(s);
    ck_assert_ptr_null(nna_redact(NULL, "k"));
}
END_TEST

START_TEST(text_is_printable_and_cut_on_characters)
{
    ck_text(400, "{\"error\":\"line1\\nline2\\u001b[31m\"}", KEY, "line1 line2 [31m");
    ck_text(400, "{\"error\":\"caf\\u00e9 \\u2713\"}", KEY, "caf\xc3\xa9 \xe2\x9c\x93");
    /* broken UTF-8 in a raw body becomes spaces */
    char body[] = "bad \xff\xc3 end";
    char *t = nna_error_text(500, NULL, body, strlen(body), NULL, NULL);
    ck_assert_str_eq(t, "HTTP 500: bad    end");
    free(t);
    /* a multibyte character at the cap is not split */
    char big[NNA_ERRTEXT_MAX + 64];
    memset(big, 'y', NNA_ERRTEXT_MAX - 1);
    strcpy(big + NNA_ERRTEXT_MAX - 1, "\xe2\x9c\x93zzz");
    t = nna_error_text(0, NULL, NULL, 0, big, NULL);
    ck_assert_uint_eq(strlen(t), NNA_ERRTEXT_MAX - 1 + 3);
    ck_assert_str_eq(t + NNA_ERRTEXT_MAX - 1, "...");
    free(t);
    /* an embedded NUL in a body is a space, not the end */
    char nul[] = "a\0b";
    t = nna_error_text(500, NULL, nul, 3, NULL, NULL);
    ck_assert_str_eq(t, "HTTP 500: a b");
    free(t);
}
END_TEST

START_TEST(redirect_text)
{
    char *t = nna_redirect_text(301, "https://agents.nanonets.com/api/v1/tasks", KEY);
    ck_assert_str_eq(t, "unexpected redirect to https://agents.nanonets.com/api/v1/tasks");
    free(t);
    t = nna_redirect_text(302, NULL, KEY);
    ck_assert_str_eq(t, "unexpected redirect (HTTP 302) without a Location header");
    free(t);
    t = nna_redirect_text(307, "http://x/?k=" KEY, KEY);
    ck_assert_str_eq(t, "unexpected redirect to http://x/?k=[REDACTED]");
    free(t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("errtext");
    TCase *tc = tcase_create("errtext");
    tcase_add_test(tc, key_across_the_excerpt_cut_never_leaks);
    tcase_add_test(tc, huge_server_message_is_capped);
    tcase_add_test(tc, envelopes_are_unpacked);
    tcase_add_test(tc, key_in_messages_is_redacted);
    tcase_add_test(tc, short_keys_redact_whole_tokens_only);
    tcase_add_test(tc, text_is_printable_and_cut_on_characters);
    tcase_add_test(tc, redirect_text);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
