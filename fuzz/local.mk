# Fuzz targets are built by fuzz/build.sh (clang + libFuzzer), not by make; only shipped.
EXTRA_DIST += fuzz/build.sh fuzz/run.sh \
	fuzz/fuzz_httpdate.c \
	fuzz/fuzz_httpdate.dict \
	fuzz/fuzz_iso8601.c \
	fuzz/fuzz_iso8601.dict \
	fuzz/fuzz_retry_after.c \
	fuzz/fuzz_retry_after.dict \
	fuzz/corpus/fuzz_httpdate/asctime \
	fuzz/corpus/fuzz_httpdate/imf \
	fuzz/corpus/fuzz_httpdate/leap \
	fuzz/corpus/fuzz_httpdate/max \
	fuzz/corpus/fuzz_httpdate/rfc850 \
	fuzz/corpus/fuzz_httpdate/zero \
	fuzz/corpus/fuzz_iso8601/compact_off \
	fuzz/corpus/fuzz_iso8601/frac \
	fuzz/corpus/fuzz_iso8601/max \
	fuzz/corpus/fuzz_iso8601/min \
	fuzz/corpus/fuzz_iso8601/nozone \
	fuzz/corpus/fuzz_iso8601/raw_double \
	fuzz/corpus/fuzz_iso8601/utc \
	fuzz/corpus/fuzz_retry_after/asctime \
	fuzz/corpus/fuzz_retry_after/frac \
	fuzz/corpus/fuzz_retry_after/huge \
	fuzz/corpus/fuzz_retry_after/imf \
	fuzz/corpus/fuzz_retry_after/int \
	fuzz/corpus/fuzz_retry_after/neg \
	fuzz/corpus/fuzz_retry_after/ows \
	fuzz/corpus/fuzz_retry_after/past \
	fuzz/corpus/fuzz_retry_after/rfc850
# Parsers of the typed API (task, agent, page, message bodies).
EXTRA_DIST += \
	fuzz/fuzz_task_json.c \
	fuzz/fuzz_task_json.dict \
	fuzz/corpus/fuzz_task_json/ack \
	fuzz/corpus/fuzz_task_json/odd \
	fuzz/corpus/fuzz_task_json/result_feed \
	fuzz/corpus/fuzz_task_json/summary_object \
	fuzz/corpus/fuzz_task_json/summary_string \
	fuzz/corpus/fuzz_task_json/task \
	fuzz/fuzz_agent_json.c \
	fuzz/fuzz_agent_json.dict \
	fuzz/corpus/fuzz_agent_json/agent \
	fuzz/corpus/fuzz_agent_json/odd \
	fuzz/fuzz_page_json.c \
	fuzz/fuzz_page_json.dict \
	fuzz/corpus/fuzz_page_json/agents \
	fuzz/corpus/fuzz_page_json/empty_cursor \
	fuzz/corpus/fuzz_page_json/tasks \
	fuzz/corpus/fuzz_page_json/versions \
	fuzz/fuzz_messages_json.c \
	fuzz/fuzz_messages_json.dict \
	fuzz/corpus/fuzz_messages_json/conversation \
	fuzz/corpus/fuzz_messages_json/only_user
# The raw-span JSON scanner and the documents built on it.
EXTRA_DIST += \
	fuzz/fuzz_jsonspan.c \
	fuzz/fuzz_jsonspan.dict \
	fuzz/corpus/fuzz_jsonspan/agent \
	fuzz/corpus/fuzz_jsonspan/bad_utf8 \
	fuzz/corpus/fuzz_jsonspan/page \
	fuzz/corpus/fuzz_jsonspan/summary \
	fuzz/corpus/fuzz_jsonspan/trailing
# Error texts from server bodies (lib/errtext.c).
EXTRA_DIST += \
	fuzz/fuzz_errtext.c \
	fuzz/corpus/fuzz_errtext/fastapi \
	fuzz/corpus/fuzz_errtext/html \
	fuzz/corpus/fuzz_errtext/long_key \
	fuzz/corpus/fuzz_errtext/nested
# The JSON nesting pre-scan of reply bodies (lib/json_depth.c).
EXTRA_DIST += \
	fuzz/fuzz_json_depth.c \
	fuzz/fuzz_json_depth.dict \
	fuzz/corpus/fuzz_json_depth/deep \
	fuzz/corpus/fuzz_json_depth/escape \
	fuzz/corpus/fuzz_json_depth/page \
	fuzz/corpus/fuzz_json_depth/strings
EXTRA_DIST += fuzz/fuzz_looks.c fuzz/fuzz_looks.dict \
	fuzz/corpus/fuzz_looks/tasks fuzz/corpus/fuzz_looks/messages fuzz/corpus/fuzz_looks/agents
