-- wrk script: the login scenario's fixed form POST (as bench/post.lua), counting the answers
-- that are not the 303 of a successful login: a captcha or throttle page answers 200, which
-- wrk would count as a success.
--
--   wrk ... -s bench/login.lua URL -- 'form=body' 'Cookie header value'

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.body = args[1] or ""
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Cookie"] = args[2]
  ok, refused = 0, 0
end

function response(status, headers, body)
  if status == 303 then ok = ok + 1 else refused = refused + 1 end
end

function done(summary, latency, requests)
  local o, r = 0, 0
  for _, t in ipairs(threads) do
    o = o + t:get("ok")
    r = r + t:get("refused")
  end
  io.write(string.format("login-summary: logged_in=%d refused=%d\n", o, r))
end
