-- wrk script: the whole interactive login with PKCE, one flow after another:
--   GET /authorize (S256 challenge)  -> 303 /login?req=…
--   GET /login?req=…                 -> 200, the form
--   POST /login (password)           -> 303 /authorize/resume?req=…, the session cookie
--   GET /authorize/resume?req=…      -> 303 redirect_uri?code=…
--   POST /token (code + verifier)    -> 200 with an ID token
--
--   wrk -t N -c N ... -s bench/flow.lua BASE -- AUTHORIZE_PATH CLIENT_AUTH REDIRECT_URI_ENCODED
--       VERIFIER LOGIN PASSWORD_ENCODED CSRF
--
-- wrk keeps one Lua state per thread and does not say which connection an answer came on, so
-- the scenario runs one connection per thread (-t N -c N) and each thread walks its own flow.
-- The CSRF check is a double submit: one random value in the cookie and the form serves all.
-- A step that answers anything unexpected counts as a failed flow and the thread starts over.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  authorize, auth, redirect, verifier = args[1], args[2], args[3], args[4]
  login, password, csrf = args[5], args[6], args[7]
  step, flows, failed = 0, 0, 0
  req, resume, code, session = nil, nil, nil, nil
end

local form = "application/x-www-form-urlencoded"

function request()
  local cookie = "tongyi_csrf=" .. csrf
  if step == 0 then
    return wrk.format("GET", authorize, { Cookie = cookie })
  elseif step == 1 then
    return wrk.format("GET", "/login?req=" .. req, { Cookie = cookie })
  elseif step == 2 then
    return wrk.format("POST", "/login", { ["Content-Type"] = form, Cookie = cookie },
      "csrf=" .. csrf .. "&req=" .. req .. "&login_name=" .. login .. "&password=" .. password)
  elseif step == 3 then
    return wrk.format("GET", resume, { Cookie = cookie .. "; " .. session })
  end
  return wrk.format("POST", "/token", { ["Content-Type"] = form, Authorization = auth },
    "grant_type=authorization_code&code=" .. code .. "&redirect_uri=" .. redirect ..
    "&code_verifier=" .. verifier)
end

local function header(headers, name)
  for k, v in pairs(headers) do
    if string.lower(k) == name then
      return v
    end
  end
  return nil
end

local function fail()
  failed = failed + 1
  step = 0
end

function response(status, headers, body)
  local location = header(headers, "location")
  if step == 0 then
    req = location and string.match(location, "[?&]req=([^&]+)")
    if status == 303 and req then step = 1 else fail() end
  elseif step == 1 then
    if status == 200 then step = 2 else fail() end
  elseif step == 2 then
    local cookie = header(headers, "set-cookie")
    if status == 303 and location and cookie and string.find(location, "/authorize/resume", 1, true) then
      resume = string.gsub(location, "^https?://[^/]+", "")
      session = string.match(cookie, "^([^;]+)")
      step = 3
    else
      fail()
    end
  elseif step == 3 then
    code = location and string.match(location, "[?&]code=([^&]+)")
    if status == 303 and code then step = 4 else fail() end
  else
    if status == 200 and string.find(body, '"id_token"', 1, true) then
      flows = flows + 1
      step = 0
    else
      fail()
    end
  end
end

function done(summary, latency, requests)
  local f, x = 0, 0
  for _, t in ipairs(threads) do
    f = f + t:get("flows")
    x = x + t:get("failed")
  end
  io.write(string.format("flow-summary: flows=%d failed=%d flows_per_s=%.1f\n", f, x,
    f / (summary.duration / 1e6)))
end
