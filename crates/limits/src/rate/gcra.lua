-- GCRA for one client, decided inside Redis in one round trip.
-- KEYS[1]: the client's key. ARGV[1]: the emission interval in microseconds
-- (1 s / per_second). ARGV[2]: the burst (requests admitted at once).
-- Returns {1, 0} when admitted, {0, wait} when refused, wait in microseconds.
-- The key holds the theoretical arrival time (TAT) on Redis's own clock, so
-- replicas with skewed clocks agree; it expires once the budget is full again.
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then
  tat = now
end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if allow_at > now then
  return {0, allow_at - now}
end
-- '%.0f': tostring would print 16-digit numbers in exponent form.
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX',
  math.ceil((new_tat - now) / 1000))
return {1, 0}
