-- wrk script: the refresh_token grant with rotation, each refresh token presented exactly once.
--
--   wrk ... -s bench/refresh.lua URL/token -- TOKENS_FILE THREADS 'Basic ...'
--
-- The IdP rotates refresh tokens: a token is single-use, and presenting it twice revokes its
-- whole family. A fixed request body therefore cannot be replayed. Instead, each wrk thread
-- keeps a pool of live refresh tokens (its share of the lines of TOKENS_FILE, minted by
-- bench/run.sh through real authorization-code logins). request() takes a token out of the
-- pool; response() parses the rotated token out of the JSON answer and puts it back. As long
-- as the pool starts with more tokens than the thread has connections (each connection has
-- at most one request in flight), it never runs dry, and every request is a genuine
-- first-time refresh of a live token, as a relying party would send it.
--
-- If the pool does run dry (responses that fail lose their token), the request carries the
-- placeholder "pool-empty", which the IdP rejects with 400; those are counted as `starved`
-- and show up in wrk's non-2xx count.
--
-- done() prints one summary line, prefixed with "refresh-summary:", for bench/run.sh.

local threads = {}
local next_id = 0

-- Runs in wrk's main Lua state, once per thread before that thread's init().
function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local pool = {}       -- stack of unused refresh tokens
local body_prefix = "grant_type=refresh_token&refresh_token="
local verify_probe    -- true until wrk's start-up check has taken its request

-- Per-thread counters, read by done() through thread:get().
loaded = 0
sent = 0
rotated = 0
failed = 0
starved = 0
first_error = ""

function init(args)
  local file, nthreads, auth = args[1], tonumber(args[2] or "1"), args[3]
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Accept"] = "application/json"
  if auth and auth ~= "" then
    wrk.headers["Authorization"] = auth
  end
  local id = thread_id or 0
  local n = 0
  for line in io.lines(file) do
    if line ~= "" then
      if n % nthreads == id then
        table.insert(pool, line)
        loaded = loaded + 1
      end
      n = n + 1
    end
  end
  -- wrk 4 calls request() once on thread 0, before any connection is open, to check that
  -- the script produces a valid HTTP request; that request is never sent. Give it a
  -- placeholder rather than a live token. (If a wrk version did send it, it would show up
  -- as one 400.)
  verify_probe = (id == 0)
end

function request()
  if verify_probe then
    verify_probe = false
    return wrk.format(nil, nil, nil, body_prefix .. "wrk-verify-probe")
  end
  local token = table.remove(pool)
  if token == nil then
    starved = starved + 1
    token = "pool-empty"
  else
    sent = sent + 1
  end
  return wrk.format(nil, nil, nil, body_prefix .. token)
end

function response(status, headers, body)
  local token = nil
  if status == 200 then
    token = string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
  end
  if token then
    rotated = rotated + 1
    table.insert(pool, token)
  else
    failed = failed + 1
    if first_error == "" then
      first_error = status .. " " .. string.sub(body or "", 1, 160)
    end
  end
end

-- Runs in the main Lua state after the run.
function done(summary, latency, requests)
  local t = { loaded = 0, sent = 0, rotated = 0, failed = 0, starved = 0 }
  local err = ""
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do
      t[k] = t[k] + (thread:get(k) or 0)
    end
    local e = thread:get("first_error")
    if err == "" and e and e ~= "" then err = e end
  end
  io.write(string.format(
    "refresh-summary: chains=%d tokens_presented=%d rotated_ok=%d failed=%d starved=%d",
    t.loaded, t.sent, t.rotated, t.failed, t.starved))
  if err ~= "" then
    io.write(" first_error=" .. string.gsub(err, "%s+", " "))
  end
  io.write("\n")
end
