/* Unit tests of the progress line (tools/nna/progress_line.c): it fits the terminal with
 * the largest numbers, keeps the most important fields, counts runs in "queued", and its
 * rate (hence ETA) is smoothed: a burst of completions in one tick moves it a little. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "progress_line.h"

START_TEST(fits_80_columns_with_huge_numbers)
{
    progress_view v = { .label = "batch", .done = 99999, .total = 100000, .failed = 99999,
                        .queued_runs = 100000, .retries = 123456789, .rate_limited = 987654321,
                        .rate = 0.3 };
    char line[512];
    for (size_t cols = 40; cols <= 200; cols += 40) {
        progress_line(&v, cols, line, sizeof line);
        ck_assert_msg(strlen(line) < cols, "%zu columns: %zu: %s", cols, strlen(line), line);
        ck_assert(strstr(line, "99999/100000"));
    }
    progress_line(&v, 80, line, sizeof line);
    ck_assert(strstr(line, "ETA "));
    ck_assert(strstr(line, "fail 99999"));
    progress_line(&v, 200, line, sizeof line);
    ck_assert(strstr(line, "queued 100000") && strstr(line, "429s 987654321"));
}
END_TEST

START_TEST(typical_line_has_every_field_in_80_columns)
{
    progress_view v = { .label = "batch", .done = 1234, .total = 10000, .failed = 3,
                        .queued_runs = 500, .retries = 12, .rate_limited = 40, .rate = 81.4 };
    char line[512];
    progress_line(&v, 80, line, sizeof line);
    ck_assert_msg(strlen(line) < 80, "%s", line);
    ck_assert_msg(strstr(line, "1234/10000") && strstr(line, "ETA 1m47s") && strstr(line, "81/s") &&
                  strstr(line, "queued 500") && strstr(line, "retry 12") && strstr(line, "429s 40"),
                  "%s", line);
}
END_TEST

START_TEST(rate_is_smoothed)
{
    double r = rate_smooth(-1, 10, 0.2);
    ck_assert(fabs(r - 10) < 1e-9); /* the first estimate */
    /* 0.2 s ticks at 10/s, then one tick in which 200 lines finish at once (1000/s). */
    for (int i = 0; i < 50; i++) r = rate_smooth(r, 10, 0.2);
    double before = r;
    r = rate_smooth(r, 1000, 0.2);
    ck_assert_msg(r < before * 3, "one burst moved the rate from %g to %g", before, r);
    /* A lasting change is followed within tens of seconds. */
    for (int i = 0; i < 150; i++) r = rate_smooth(r, 50, 0.2);
    ck_assert_msg(fabs(r - 50) < 5, "%g", r);
    ck_assert(rate_smooth(r, NAN, 0.2) == r && rate_smooth(r, 5, 0) == r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("progress_line");
    TCase *tc = tcase_create("progress_line");
    tcase_add_test(tc, fits_80_columns_with_huge_numbers);
    tcase_add_test(tc, typical_line_has_every_field_in_80_columns);
    tcase_add_test(tc, rate_is_smoothed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
