-- wrk script for `pnpm bench:tracker`: generates BEP 3 announces, round-robin over
-- `torrents` swarms of `peers` peers each, so every peer announces and swarms fill up.
-- Arguments (after `--`): torrents peers offset keep|close [first announce number]
--   info_hash = 16 x 0xB0 followed by (offset + torrent index) as 4 big-endian bytes
--   peer_id   = "-BM0001-" followed by the peer index in 12 decimal digits
--   port      = 10000 + peer index (opentracker tells peers apart by address, not peer id)
-- One peer in ten is a seed (left=0).
local counter = 0
local torrents, peers, offset = 1, 1, 0
local prefix = string.rep("%B0", 16)

function init(args)
  torrents = tonumber(args[1]) or 1
  peers = tonumber(args[2]) or 1
  offset = tonumber(args[3]) or 0
  if args[4] == "close" then
    wrk.headers["Connection"] = "close"
  end
  counter = tonumber(args[5]) or 0
end

local function be32(n)
  return string.format("%%%02X%%%02X%%%02X%%%02X",
    math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
end

function request()
  local t = counter % torrents
  local p = math.floor(counter / torrents) % peers
  counter = counter + 1
  local left = (p % 10 == 0) and "0" or "1000"
  local path = "/announce?info_hash=" .. prefix .. be32(offset + t)
    .. "&peer_id=-BM0001-" .. string.format("%012d", p)
    .. "&port=" .. (10000 + p % 50000)
    .. "&uploaded=0&downloaded=0&left=" .. left .. "&compact=1"
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
