# Examples (docs/embedding.md): built by `make`, run against nna-emu by `make check`
# (examples/run-examples.sh), and rebuilt against the installed library through pkg-config
# (examples/installed-check.sh: make install DESTDIR=tmp, cc ... $(pkg-config nna / nna-uv)).
noinst_PROGRAMS += examples/blocking examples/batch examples/ev_server
examples_blocking_SOURCES = examples/blocking.c
examples_blocking_LDADD = lib/libnna.la
examples_batch_SOURCES = examples/batch.c
examples_batch_CFLAGS = $(AM_CFLAGS) $(EV_CFLAGS)
examples_batch_LDADD = lib/libnna.la $(EV_LIBS)
examples_ev_server_SOURCES = examples/ev_server.c
examples_ev_server_CFLAGS = $(AM_CFLAGS) $(EV_CFLAGS)
examples_ev_server_LDADD = lib/libnna.la $(EV_LIBS)

if HAVE_LIBUV
noinst_PROGRAMS += examples/uv_fanout
examples_uv_fanout_SOURCES = examples/uv_fanout.c
examples_uv_fanout_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS)
examples_uv_fanout_LDADD = lib/libnna-uv.la $(UV_LIBS)
else
EXTRA_DIST += examples/uv_fanout.c
endif

dist_check_SCRIPTS += examples/run-examples.sh examples/installed-check.sh
TESTS += examples/run-examples.sh examples/installed-check.sh
EXTRA_DIST += docs/embedding.md
