-- POST /api/v1/events with a fresh event id on every request, so each one is accepted (not a
-- duplicate). Ids are UUID-shaped: run (8 hex, from the harness) - thread - counter, unique
-- across wrk's threads (one Lua state each) and across runs sharing one Redis.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

local run = tonumber(os.getenv("BENCH_RUN") or "0")
local headers = {
  ["Content-Type"] = "application/json",
  ["X-API-Key"] = os.getenv("BENCH_API_KEY"),
  ["X-Community-ID"] = os.getenv("BENCH_COMMUNITY"),
}
local sent = 0

function request()
  sent = sent + 1
  local id = string.format("%08x-%04x-4000-8000-%012x", run, thread_number or 0, sent)
  local body = '{"event_id": "' .. id .. '", "platform": "system", "type": "bench.load", ' ..
    '"payload": {"n": ' .. sent .. '}}'
  return wrk.format("POST", wrk.path, headers, body)
end
