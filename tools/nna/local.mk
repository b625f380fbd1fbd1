# nna: the command-line client, built only on the public libnna API (include/nna/*.h);
# the demo also links the in-process emulator (tools/emu/emu.h, libnnaemu.la).
bin_PROGRAMS += tools/nna/nna
tools_nna_nna_SOURCES = \
	tools/nna/cli.h \
	tools/nna/batch.h \
	tools/nna/main.c \
	tools/nna/session.c \
	tools/nna/args.c \
	tools/nna/util.c \
	tools/nna/output.c \
	tools/nna/cmd_agents.c \
	tools/nna/cmd_tasks.c \
	tools/nna/cmd_run.c \
	tools/nna/batch.c \
	tools/nna/journal.c \
	tools/nna/adopt.c \
	tools/nna/progress.c \
	tools/nna/demo.c
tools_nna_nna_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS) $(EV_CFLAGS) -I$(top_srcdir)/tools/emu
# The installed nna finds the installed libnna wherever the prefix is (make install
# prefix=DIR, ./configure --prefix=DIR): relative to itself when libdir is PREFIX/lib.
tools_nna_nna_LDFLAGS = $(AM_LDFLAGS) \
	$(if $(filter $(exec_prefix)/lib,$(libdir)),-Wl$(comma)-rpath$(comma)'$$ORIGIN/../lib',-Wl$(comma)-rpath$(comma)$(libdir))
comma = ,
tools_nna_nna_LDADD = lib/libnna.la tools/emu/libnnaemu.la $(CJSON_LIBS) $(EV_LIBS) $(M_LIBS)
EXTRA_DIST += docs/cli.md
# The key file, ...: one concept per file (docs/cli.md).
tools_nna_nna_SOURCES += \
	tools/nna/keyfile.c \
	tools/nna/batch_input.c \
	tools/nna/suggest.c \
	tools/nna/help.c \
	tools/nna/completion.c \
	tools/nna/interrupt.c \
	tools/nna/table.c \
	tools/nna/batch_summary.c \
	tools/nna/progress_line.c tools/nna/progress_line.h \
	tools/nna/config.c
