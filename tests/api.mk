# Integration tests of the typed API (every endpoint, pagination edge cases, waits, the
# bulk watch) against an in-process nna-emu.
check_PROGRAMS += tests/test_api
TESTS += tests/test_api
tests_test_api_SOURCES = tests/test_api.c tests/testutil.c tests/testutil.h
tests_test_api_CFLAGS = $(TEST_LIB_CFLAGS)
tests_test_api_LDADD = $(TEST_LIB_LDADD)

# Base URLs, key checks, a wait's deadline without a result, nna_version().
check_PROGRAMS += tests/test_client_ux
TESTS += tests/test_client_ux
tests_test_client_ux_SOURCES = tests/test_client_ux.c tests/testutil.c tests/testutil.h
tests_test_client_ux_CFLAGS = $(TEST_LIB_CFLAGS)
tests_test_client_ux_LDADD = $(TEST_LIB_LDADD)
