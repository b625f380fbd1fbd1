# Reliability core (issue 5): retry policy, Retry-After, deadlines, cancellation,
# reconcile-before-retry, the per-workspace limiter. A deterministic part drives the limiter
# against a simulated rate-limited server on a fake clock; the rest runs against nna-emu.
check_PROGRAMS += tests/test_reliability
TESTS += tests/test_reliability
tests_test_reliability_SOURCES = tests/test_reliability.c tests/testutil.c tests/testutil.h
tests_test_reliability_CFLAGS = $(TEST_LIB_CFLAGS)
tests_test_reliability_LDADD = $(TEST_LIB_LDADD)
