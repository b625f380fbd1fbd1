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
