# Test programs (Check). Unit tests of pure parts live in tests/unit; the emulator's own
# tests in tests/emu (rules in tools/emu/local.mk); the library's integration tests here
# run real HTTP against an in-process nna-emu on an ephemeral loopback port.
include tests/unit/local.mk
include tests/api.mk
include tests/uv.mk
include tests/reliability.mk
include tests/reconcile.mk
include tests/cli/local.mk
include tests/verbatim.mk
include tests/tls.mk
include tests/scaleout/local.mk

TEST_LIB_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CJSON_CFLAGS) $(CURL_CFLAGS) -I$(top_srcdir)/tools/emu
TEST_LIB_LDADD = lib/libnna-test.la tools/emu/libnnaemu.la $(CHECK_LIBS) $(CJSON_LIBS) $(EV_LIBS) $(M_LIBS)

check_PROGRAMS += tests/test_engine
TESTS += tests/test_engine
tests_test_engine_SOURCES = tests/test_engine.c tests/testutil.c tests/testutil.h
tests_test_engine_CFLAGS = $(TEST_LIB_CFLAGS)
tests_test_engine_LDADD = $(TEST_LIB_LDADD)

# Each public header compiles alone as C and as C++.
dist_check_SCRIPTS += tests/headers.sh
TESTS += tests/headers.sh
# The README's example program keeps compiling.
dist_check_SCRIPTS += tests/readme.sh
TESTS += tests/readme.sh
# The shared libraries export only the public API.
dist_check_SCRIPTS += tests/exports.sh
TESTS += tests/exports.sh
# Failure classification (issues 11, 13, 17): attempts, redirects, permanent failures,
# replies unreadable after the send, error texts.
check_PROGRAMS += tests/test_failclass
TESTS += tests/test_failclass
tests_test_failclass_SOURCES = tests/test_failclass.c tests/testutil.c tests/testutil.h \
	tests/bigproxy.c tests/bigproxy.h
tests_test_failclass_CFLAGS = $(TEST_LIB_CFLAGS)
tests_test_failclass_LDADD = $(TEST_LIB_LDADD) $(CURL_LIBS) $(PTHREAD_LIBS)

# Limits on what the server controls (sizes, nesting, pages, speed, memory budget).
check_PROGRAMS += tests/test_limits
TESTS += tests/test_limits
tests_test_limits_SOURCES = tests/test_limits.c tests/testutil.c tests/testutil.h
tests_test_limits_CFLAGS = $(TEST_LIB_CFLAGS)
tests_test_limits_LDADD = $(TEST_LIB_LDADD)
# Installing into a prefix (make install prefix=, ./configure --prefix=) gives a working nna,
# nna.pc and man pages.
dist_check_SCRIPTS += tests/install.sh
TESTS += tests/install.sh
# The programs of docs/embedding.md keep compiling.
dist_check_SCRIPTS += tests/embedding.sh
TESTS += tests/embedding.sh
# The docs cite only what ships and list every exit code.
dist_check_SCRIPTS += tests/docs.sh
TESTS += tests/docs.sh
