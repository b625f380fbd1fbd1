# Scale-out through the Redis limiter backend (docs/scale-out.md): real redis-server and
# nna-emu processes on 127.0.0.1, the built tools/nna/nna. Only with hiredis.
if HAVE_HIREDIS
SCALEOUT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CJSON_CFLAGS) $(CURL_CFLAGS) $(HIREDIS_CFLAGS) \
	-DNNA_BUILDDIR='"$(abs_top_builddir)"'
SCALEOUT_LDADD = $(CHECK_LIBS) $(CJSON_LIBS) $(CURL_LIBS) $(HIREDIS_LIBS)
SCALEOUT_COMMON = tests/scaleout/redistest.c tests/scaleout/redistest.h \
	tests/scaleout/flight.c tests/scaleout/flight.h tests/cli/clitest.c tests/cli/clitest.h

check_PROGRAMS += tests/scaleout/test_scaleout tests/scaleout/test_scaleout_faults
TESTS += tests/scaleout/test_scaleout tests/scaleout/test_scaleout_faults
tests_scaleout_test_scaleout_SOURCES = tests/scaleout/test_scaleout.c $(SCALEOUT_COMMON)
tests_scaleout_test_scaleout_CFLAGS = $(SCALEOUT_CFLAGS)
tests_scaleout_test_scaleout_LDADD = $(SCALEOUT_LDADD)
tests_scaleout_test_scaleout_faults_SOURCES = tests/scaleout/test_scaleout_faults.c $(SCALEOUT_COMMON)
tests_scaleout_test_scaleout_faults_CFLAGS = $(SCALEOUT_CFLAGS)
tests_scaleout_test_scaleout_faults_LDADD = $(SCALEOUT_LDADD)

# The backend through the library's API on both loops (hiredis on the loop seam).
check_PROGRAMS += tests/scaleout/test_limit_redis
TESTS += tests/scaleout/test_limit_redis
tests_scaleout_test_limit_redis_SOURCES = tests/scaleout/test_limit_redis.c \
	tests/scaleout/redistest.c tests/scaleout/redistest.h tests/testutil.c tests/testutil.h
tests_scaleout_test_limit_redis_CFLAGS = $(TEST_LIB_CFLAGS) $(HIREDIS_CFLAGS)
tests_scaleout_test_limit_redis_LDADD = $(TEST_LIB_LDADD) $(HIREDIS_LIBS)
if HAVE_LIBUV
check_PROGRAMS += tests/scaleout/test_limit_redis_uv
TESTS += tests/scaleout/test_limit_redis_uv
tests_scaleout_test_limit_redis_uv_SOURCES = $(tests_scaleout_test_limit_redis_SOURCES)
tests_scaleout_test_limit_redis_uv_CFLAGS = $(TEST_UV_CFLAGS) $(HIREDIS_CFLAGS)
tests_scaleout_test_limit_redis_uv_LDADD = $(TEST_UV_LDADD) $(HIREDIS_LIBS)
endif
endif
EXTRA_DIST += docs/scale-out.md docs/scale-out.svg bench/plot_scaleout.py bench/scaleout.sh

# The shared health gate and retry budget (two workspaces as two processes).
if HAVE_HIREDIS
check_PROGRAMS += tests/scaleout/test_redis_health
TESTS += tests/scaleout/test_redis_health
tests_scaleout_test_redis_health_SOURCES = tests/scaleout/test_redis_health.c \
	tests/scaleout/redistest.c tests/scaleout/redistest.h tests/testutil.c tests/testutil.h
tests_scaleout_test_redis_health_CFLAGS = $(TEST_LIB_CFLAGS) $(HIREDIS_CFLAGS)
tests_scaleout_test_redis_health_LDADD = $(TEST_LIB_LDADD) $(HIREDIS_LIBS)
endif
