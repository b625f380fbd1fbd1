# Reconcile-before-retry for every non-idempotent write, the server clock behind its window,
# one look per workspace (issues 17 and 11); on libev and on libuv.
check_PROGRAMS += tests/test_reconcile
TESTS += tests/test_reconcile
tests_test_reconcile_SOURCES = tests/test_reconcile.c tests/testutil.c tests/testutil.h
tests_test_reconcile_CFLAGS = $(TEST_LIB_CFLAGS)
tests_test_reconcile_LDADD = $(TEST_LIB_LDADD)
if HAVE_LIBUV
check_PROGRAMS += tests/test_reconcile_uv
TESTS += tests/test_reconcile_uv
tests_test_reconcile_uv_SOURCES = tests/test_reconcile.c tests/testutil.c tests/testutil.h
tests_test_reconcile_uv_CFLAGS = $(TEST_UV_CFLAGS)
tests_test_reconcile_uv_LDADD = $(TEST_UV_LDADD)
endif
