-- wrk script: client_credentials with a DPoP proof (RFC 9449), each proof sent once.
--
--   wrk ... -s bench/dpop.lua URL/token -- PROOFS_FILE 'form=body' 'Basic ...'
--
-- A DPoP proof carries a jti that the IdP accepts once (its replay cache), so a fixed request
-- cannot be replayed. bench/run.sh pre-generates distinct proofs with the dpop_proofs example
-- (one key, as one client would hold); request() sends the next unused one. When the file
-- runs out, the request carries the placeholder "exhausted", which the IdP refuses with 400
-- (counted in wrk's non-2xx and in the summary line). There is no response() hook, so wrk
-- reads no more of an answer than with post.lua; but it formats each request in Lua instead
-- of sending one static request. Run with one wrk thread: every thread would read the whole
-- file, and two threads would send the same proofs.
--
-- done() prints one summary line, prefixed with "dpop-summary:", for bench/run.sh.

local proofs = {}
local next_proof = 1
local body = ""
local auth = ""
local verify_probe = true

loaded = 0
sent = 0
exhausted = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file
  file, body, auth = args[1], args[2] or "", args[3] or ""
  for line in io.lines(file) do
    if line ~= "" then
      table.insert(proofs, line)
    end
  end
  loaded = #proofs
end

local function headers(proof)
  local h = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
    ["DPoP"] = proof,
  }
  if auth ~= "" then
    h["Authorization"] = auth
  end
  return h
end

function request()
  -- wrk 4 calls request() once before any connection opens to validate the script; that
  -- request is never sent, so it must not spend a proof.
  if verify_probe then
    verify_probe = false
    return wrk.format("POST", nil, headers("wrk-verify-probe"), body)
  end
  local proof = proofs[next_proof]
  if proof == nil then
    exhausted = exhausted + 1
    proof = "exhausted"
  else
    proofs[next_proof] = nil
    next_proof = next_proof + 1
    sent = sent + 1
  end
  return wrk.format("POST", nil, headers(proof), body)
end

function done(summary, latency, requests)
  local t = { loaded = 0, sent = 0, exhausted = 0 }
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do
      t[k] = t[k] + (thread:get(k) or 0)
    end
  end
  io.write(string.format("dpop-summary: proofs=%d proofs_sent=%d exhausted=%d\n",
    t.loaded, t.sent, t.exhausted))
end
