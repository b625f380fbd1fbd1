# Manual pages: nna(1), nna-emu(1), libnna(3) and one page per public function group
# (tests/man.sh renders each and checks every exported function is on a page).
man_MANS = man/nna.1 man/nna-emu.1 man/libnna.3 man/nna_client.3 man/nna_future.3 \
	man/nna_tasks.3 man/nna_agents.3 man/nna_paginate.3 man/nna_workspace.3 \
	man/nna_status.3 man/nna_loop.3 man/nna_json.3
EXTRA_DIST += $(man_MANS)
dist_check_SCRIPTS += tests/man.sh
TESTS += tests/man.sh
