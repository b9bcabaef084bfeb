-- wrk script for bench.py's fixed-rate round: wrk paced to a request rate, with report.lua's
-- summary line and a second one on the pacing.
--
--   wrk -t1 -c32 -d10s --latency -s bench/rate.lua URL -- RATE THREADS
--
-- RATE is the total rate over all THREADS (wrk's -t), in requests per second. Each thread keeps
-- a schedule of send times, one every THREADS / RATE seconds, the threads' schedules interleaved.
-- Whenever a connection is ready to send (just connected, or its answer read), delay() hands it
-- the next slot of the schedule and makes it wait until then. The slots follow the schedule and
-- not the answers, so the offered rate does not drop when latency rises, as long as some
-- connection is free when a slot comes. A slot already past is sent at once.
--
-- wrk's timers count whole milliseconds of gettimeofday(): delay() returns the milliseconds to
-- the first tick at or after the slot, so a request leaves within 1 ms after its slot, and the
-- requests of one millisecond leave together. A request that leaves more than 1 ms after its
-- slot (no connection was free: the proxy fell behind, or wrk was not scheduled) is counted as
-- "late": wrk times a request from its actual send, so that wait is not in its latency
-- (coordinated omission).

local ffi = require("ffi")
ffi.cdef [[
struct bench_rate_timeval { long tv_sec; long tv_usec; };
int gettimeofday(struct bench_rate_timeval *tv, void *tz);
]]

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")
local report_done = done

local tv = ffi.new("struct bench_rate_timeval")
local function now_us()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1e6 + tonumber(tv.tv_usec)
end

-- Main state: the threads, to read their counters at the end.
local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  threads[#threads + 1] = thread
end

-- Thread state.
local interval_us, offset_us, next_slot
sends, late, late_us_max = 0, 0, 0

function init(args)
  local rate, nthreads = tonumber(args[1]), tonumber(args[2] or "1")
  if not rate or rate <= 0 or not nthreads then
    error("rate.lua: usage: wrk ... -s rate.lua URL -- RATE THREADS")
  end
  interval_us = 1e6 * nthreads / rate
  offset_us = interval_us * thread_index / nthreads
end

function delay()
  local now = now_us()
  if not next_slot then
    next_slot = now + offset_us
  end
  local slot = next_slot
  next_slot = slot + interval_us
  sends = sends + 1
  if slot <= now then
    if now - slot > 1000 then
      late = late + 1
    end
    if now - slot > late_us_max then
      late_us_max = now - slot
    end
    return 0
  end
  return math.ceil(slot / 1000) - math.floor(now / 1000)
end

function done(summary, latency, requests)
  local s, l, m = 0, 0, 0
  for _, t in ipairs(threads) do
    s = s + t:get("sends")
    l = l + t:get("late")
    m = math.max(m, t:get("late_us_max"))
  end
  io.write(string.format('BENCH_PACING {"sends":%d,"late":%d,"late_us_max":%.0f}\n', s, l, m))
  report_done(summary, latency, requests)
end
