# The same integration suites a second time on libuv: the sources are built again with
# -DNNA_TEST_UV (tests/testutil.h then makes libuv loops and clients) and linked against
# libnna-uv and libuv instead of libnna and libev. To run another suite on both loops, add
# a `<name>_uv` program here with the same sources and TEST_UV_CFLAGS / TEST_UV_LDADD.
if HAVE_LIBUV
TEST_UV_CFLAGS = $(TEST_LIB_CFLAGS) $(UV_CFLAGS) -DNNA_TEST_UV
TEST_UV_LDADD = lib/libnna-uv-test.la tools/emu/libnnaemu.la $(CHECK_LIBS) $(CJSON_LIBS) $(UV_LIBS) $(M_LIBS)

check_PROGRAMS += tests/test_engine_uv
TESTS += tests/test_engine_uv
tests_test_engine_uv_SOURCES = tests/test_engine.c tests/testutil.c tests/testutil.h
tests_test_engine_uv_CFLAGS = $(TEST_UV_CFLAGS)
tests_test_engine_uv_LDADD = $(TEST_UV_LDADD)
endif

if HAVE_LIBUV
check_PROGRAMS += tests/test_api_uv tests/test_reliability_uv
TESTS += tests/test_api_uv tests/test_reliability_uv
tests_test_api_uv_SOURCES = tests/test_api.c tests/testutil.c tests/testutil.h
tests_test_api_uv_CFLAGS = $(TEST_UV_CFLAGS)
tests_test_api_uv_LDADD = $(TEST_UV_LDADD)
tests_test_reliability_uv_SOURCES = tests/test_reliability.c tests/testutil.c tests/testutil.h
tests_test_reliability_uv_CFLAGS = $(TEST_UV_CFLAGS)
tests_test_reliability_uv_LDADD = $(TEST_UV_LDADD)
endif
