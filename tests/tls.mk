# HTTPS end to end (issue 13): nna-emu with TLS, certificates made by the openssl command
# (tests/tls/mkcerts.sh), the client's trust options and failures.
check_PROGRAMS += tests/test_tls
TESTS += tests/test_tls
tests_test_tls_SOURCES = tests/test_tls.c tests/testutil.c tests/testutil.h
tests_test_tls_CFLAGS = $(TEST_LIB_CFLAGS) -DNNA_SRCDIR='"$(abs_top_srcdir)"'
tests_test_tls_LDADD = $(TEST_LIB_LDADD)
EXTRA_DIST += tests/tls/mkcerts.sh
# HTTP/2 multiplexing and TLS session reuse through nghttpx (skips when it is missing).
check_PROGRAMS += tests/test_h2
TESTS += tests/test_h2
tests_test_h2_SOURCES = tests/test_h2.c tests/testutil.c tests/testutil.h
tests_test_h2_CFLAGS = $(TEST_LIB_CFLAGS) -DNNA_SRCDIR='"$(abs_top_srcdir)"'
tests_test_h2_LDADD = $(TEST_LIB_LDADD)
