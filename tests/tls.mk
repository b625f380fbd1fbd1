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
# The command line over HTTPS (black-box, like tests/cli).
check_PROGRAMS += tests/cli/test_cli_tls
TESTS += tests/cli/test_cli_tls
tests_cli_test_cli_tls_SOURCES = tests/cli/test_cli_tls.c tests/cli/clitest.c tests/cli/clitest.h
tests_cli_test_cli_tls_CFLAGS = $(CLI_TEST_CFLAGS) -DNNA_SRCDIR='"$(abs_top_srcdir)"'
tests_cli_test_cli_tls_LDADD = $(CLI_TEST_LDADD)
# OpenSSL is libcurl's business: libnna neither links it nor lists it in its .pc files.
dist_check_SCRIPTS += tests/linkdeps.sh
TESTS += tests/linkdeps.sh
