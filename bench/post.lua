-- wrk script: a fixed form POST, replayed on every request.
--
--   wrk ... -s bench/post.lua URL -- 'form=body&more=1' ['Authorization header value'] ['Cookie header value']
--
-- Used for the client_credentials, introspection, login and par scenarios, whose request bodies can be
-- replayed as often as we like. The request is built once per thread (static request).

function init(args)
  wrk.method = "POST"
  wrk.body = args[1] or ""
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Accept"] = "application/json"
  if args[2] and args[2] ~= "" then
    wrk.headers["Authorization"] = args[2]
  end
  if args[3] and args[3] ~= "" then
    wrk.headers["Cookie"] = args[3]
  end
end
