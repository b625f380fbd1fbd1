# Benchmarks (docs/bench.md). Not built by `make`: `make bench` builds the two C clients
# and runs bench/run, which starts its own nna-emu and writes bench/results/latest.md.
# `make bench-programs` only builds them. -no-install: real binaries (no libtool wrapper
# script), so valgrind and perf see the program itself.
# (EXTRA_PROGRAMS is set here with '=' because Makefile.am does not declare it; should
# another part need it, move the empty declaration to Makefile.am and use '+=' here.)
EXTRA_PROGRAMS = bench/nna_fanout bench/raw_curl
CLEANFILES += bench/nna_fanout bench/raw_curl
noinst_HEADERS += bench/benchutil.h

bench_nna_fanout_SOURCES = bench/nna_fanout.c
bench_nna_fanout_CFLAGS = $(AM_CFLAGS) $(EV_CFLAGS) $(CJSON_CFLAGS)
bench_nna_fanout_LDADD = lib/libnna.la $(CJSON_LIBS) $(EV_LIBS) $(M_LIBS)
bench_nna_fanout_LDFLAGS = $(AM_LDFLAGS) -no-install

bench_raw_curl_SOURCES = bench/raw_curl.c
bench_raw_curl_CFLAGS = $(AM_CFLAGS) $(EV_CFLAGS) $(CURL_CFLAGS) $(CJSON_CFLAGS)
bench_raw_curl_LDADD = $(CURL_LIBS) $(CJSON_LIBS) $(EV_LIBS) $(M_LIBS)
bench_raw_curl_LDFLAGS = $(AM_LDFLAGS) -no-install

nnabench_files = bench/run bench/report.py bench/plot.py bench/aiohttp_fanout.py \
	bench/node_fetch.mjs bench/node_http.mjs bench/wrk_post.lua bench/procstat.py \
	bench/tls.sh bench/tls_report.py
EXTRA_DIST += $(nnabench_files) docs/bench.md

.PHONY: bench bench-programs
bench-programs: bench/nna_fanout$(EXEEXT) bench/raw_curl$(EXEEXT) tools/emu/nna-emu$(EXEEXT) $(LIMBENCH)

bench: bench-programs
	NNA_BUILDDIR=$(abs_top_builddir) $(SHELL) $(srcdir)/bench/run

# The limiter alone (bench/results/scaleout.md): admissions/s through the Redis backend with
# zero-cost transfers. Needs the library's internals (the limiter's send hook).
if HAVE_HIREDIS
EXTRA_PROGRAMS += bench/nna_limbench
CLEANFILES += bench/nna_limbench
bench_nna_limbench_SOURCES = bench/nna_limbench.c
bench_nna_limbench_CFLAGS = $(AM_CFLAGS) $(EV_CFLAGS) $(CJSON_CFLAGS) $(CURL_CFLAGS)
bench_nna_limbench_LDADD = lib/libnna-test.la $(CJSON_LIBS) $(EV_LIBS) $(M_LIBS)
bench_nna_limbench_LDFLAGS = $(AM_LDFLAGS) -no-install
LIMBENCH = bench/nna_limbench$(EXEEXT)
else
LIMBENCH =
endif
