# Server data byte for byte and malformed replies (the strict JSON scanner, typed results'
# json_text, request bodies as written), on libev and libuv.
check_PROGRAMS += tests/test_verbatim
TESTS += tests/test_verbatim
tests_test_verbatim_SOURCES = tests/test_verbatim.c tests/testutil.c tests/testutil.h
tests_test_verbatim_CFLAGS = $(TEST_LIB_CFLAGS)
tests_test_verbatim_LDADD = $(TEST_LIB_LDADD)
if HAVE_LIBUV
check_PROGRAMS += tests/test_verbatim_uv
TESTS += tests/test_verbatim_uv
tests_test_verbatim_uv_SOURCES = tests/test_verbatim.c tests/testutil.c tests/testutil.h
tests_test_verbatim_uv_CFLAGS = $(TEST_UV_CFLAGS)
tests_test_verbatim_uv_LDADD = $(TEST_UV_LDADD)
endif
# The command line: nna prints the server's bytes, batch rows embed them.
check_PROGRAMS += tests/cli/test_cli_verbatim
TESTS += tests/cli/test_cli_verbatim
tests_cli_test_cli_verbatim_SOURCES = tests/cli/test_cli_verbatim.c tests/cli/clitest.c tests/cli/clitest.h
tests_cli_test_cli_verbatim_CFLAGS = $(CLI_TEST_CFLAGS)
tests_cli_test_cli_verbatim_LDADD = $(CLI_TEST_LDADD)
