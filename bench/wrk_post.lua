-- wrk script: the same POST /api/v1/agents/{id}/run request as the other clients.
-- wrk -t1 -cCAP -d2s -s bench/wrk_post.lua http://127.0.0.1:PORT/api/v1/agents/ID/run
wrk.method = "POST"
wrk.body = '{"query":"Summarise this document"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.headers["Authorization"] = "Bearer test-key"
