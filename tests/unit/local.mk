# Unit tests of the pure-function layer (Check). Each program compiles the pure sources
# itself, so it runs without the library being built.
check_PROGRAMS += tests/unit/test_retry tests/unit/test_timefmt tests/unit/test_tokenbucket
TESTS += tests/unit/test_retry tests/unit/test_timefmt tests/unit/test_tokenbucket

tests_unit_test_retry_SOURCES = tests/unit/test_retry.c $(NNA_PURE_SOURCES) lib/status.c
tests_unit_test_retry_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_retry_LDADD = $(CHECK_LIBS) $(M_LIBS)

tests_unit_test_timefmt_SOURCES = tests/unit/test_timefmt.c $(NNA_PURE_SOURCES)
tests_unit_test_timefmt_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_timefmt_LDADD = $(CHECK_LIBS) $(M_LIBS)

tests_unit_test_tokenbucket_SOURCES = tests/unit/test_tokenbucket.c $(NNA_PURE_SOURCES)
tests_unit_test_tokenbucket_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_tokenbucket_LDADD = $(CHECK_LIBS) $(M_LIBS)

# Failure classes and the attempt budget (issues 11, 13, 17), error texts (issue 17).
check_PROGRAMS += tests/unit/test_failclass tests/unit/test_errtext
TESTS += tests/unit/test_failclass tests/unit/test_errtext
tests_unit_test_failclass_SOURCES = tests/unit/test_failclass.c $(NNA_PURE_SOURCES) lib/status.c
tests_unit_test_failclass_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_failclass_LDADD = $(CHECK_LIBS) $(M_LIBS)
tests_unit_test_errtext_SOURCES = tests/unit/test_errtext.c lib/errtext.c lib/errtext.h
tests_unit_test_errtext_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CJSON_CFLAGS)
tests_unit_test_errtext_LDADD = $(CHECK_LIBS) $(CJSON_LIBS)
