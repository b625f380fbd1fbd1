# Black-box tests of the nna command line: each runs the built tools/nna/nna against a
# standalone tools/emu/nna-emu started on --port 0 (both built by `make all`, which
# `make check` runs first). NNA_CLI_WRAPPER="libtool --mode=execute valgrind ..." wraps
# every nna run of test_cli.
CLI_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CJSON_CFLAGS) $(CURL_CFLAGS) \
	-DNNA_BUILDDIR='"$(abs_top_builddir)"'
CLI_TEST_LDADD = $(CHECK_LIBS) $(CJSON_LIBS) $(CURL_LIBS)

check_PROGRAMS += tests/cli/test_cli tests/cli/test_cli_batch
TESTS += tests/cli/test_cli tests/cli/test_cli_batch
tests_cli_test_cli_SOURCES = tests/cli/test_cli.c tests/cli/clitest.c tests/cli/clitest.h
tests_cli_test_cli_CFLAGS = $(CLI_TEST_CFLAGS)
tests_cli_test_cli_LDADD = $(CLI_TEST_LDADD)
tests_cli_test_cli_batch_SOURCES = tests/cli/test_cli_batch.c tests/cli/clitest.c tests/cli/clitest.h
tests_cli_test_cli_batch_CFLAGS = $(CLI_TEST_CFLAGS)
tests_cli_test_cli_batch_LDADD = $(CLI_TEST_LDADD)
# Exit codes and attempt counts of the failure classes (issues 11, 13, 17).
check_PROGRAMS += tests/cli/test_cli_failclass
TESTS += tests/cli/test_cli_failclass
tests_cli_test_cli_failclass_SOURCES = tests/cli/test_cli_failclass.c tests/cli/clitest.c \
	tests/cli/clitest.h tests/bigproxy.c tests/bigproxy.h
tests_cli_test_cli_failclass_CFLAGS = $(CLI_TEST_CFLAGS) -I$(top_srcdir)/tests
tests_cli_test_cli_failclass_LDADD = $(CLI_TEST_LDADD) $(PTHREAD_LIBS)

# The command line as a new user meets it (key files, URLs, help, formats, config).
check_PROGRAMS += tests/cli/test_cli_ux
TESTS += tests/cli/test_cli_ux
tests_cli_test_cli_ux_SOURCES = tests/cli/test_cli_ux.c tests/cli/clitest.c tests/cli/clitest.h
tests_cli_test_cli_ux_CFLAGS = $(CLI_TEST_CFLAGS)
tests_cli_test_cli_ux_LDADD = $(CLI_TEST_LDADD) -lutil

# nna batch: one output line per non-blank input line; a finished batch is not re-run.
check_PROGRAMS += tests/cli/test_cli_batch_input
TESTS += tests/cli/test_cli_batch_input
tests_cli_test_cli_batch_input_SOURCES = tests/cli/test_cli_batch_input.c tests/cli/clitest.c tests/cli/clitest.h
tests_cli_test_cli_batch_input_CFLAGS = $(CLI_TEST_CFLAGS)
tests_cli_test_cli_batch_input_LDADD = $(CLI_TEST_LDADD)

# The progress line's text and rate smoothing (pure).
check_PROGRAMS += tests/cli/test_progress_line
TESTS += tests/cli/test_progress_line
tests_cli_test_progress_line_SOURCES = tests/cli/test_progress_line.c tools/nna/progress_line.c
tests_cli_test_progress_line_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/tools/nna
tests_cli_test_progress_line_LDADD = $(CHECK_LIBS) $(M_LIBS)

check_PROGRAMS += tests/cli/test_cli_skew
TESTS += tests/cli/test_cli_skew
tests_cli_test_cli_skew_SOURCES = tests/cli/test_cli_skew.c tests/cli/clitest.c tests/cli/clitest.h
tests_cli_test_cli_skew_CFLAGS = $(CLI_TEST_CFLAGS)
tests_cli_test_cli_skew_LDADD = $(CLI_TEST_LDADD)
