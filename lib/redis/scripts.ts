/**
 * The Lua scripts behind the Redis code store and the Redis limits. Each runs as one atomic
 * step inside Redis. Every script first compares the server's clock with the request's
 * deadline: a call that reaches Redis after its request was answered 503 (a stalled server,
 * or a reconnect that replays queued commands) does nothing and says so (-1), so it can
 * never spend a code or count a failure behind the user's back.
 *
 * Buckets are hashes { c = count, e = end of window on the app's clock }; the real TTL
 * only frees memory. Codes are hashes { h = HMAC, e = expiry, a = wrong attempts, i = id,
 * d = data, x = '' }; a code just redeemed keeps its fields for a few seconds with h = '' (no
 * code) and x = the verify call's id (see VERIFY). The fraud record is { s0, r0, s1, r1, w, p }
 * (see limits/fraud.ts).
 */
import { script } from './client';

const COMMON = `
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function late(deadline)
  return clock() > tonumber(deadline)
end
local function live(k, now)
  local v = redis.call('HMGET', k, 'c', 'e')
  if v[1] and tonumber(v[2]) > now then return tonumber(v[1]), tonumber(v[2]) end
  return nil, nil
end
-- With \`takenBy\` (a give-back's), a window that opened after it is a newer request's: left alone.
local function add(k, now, limitWindow, delta, takenBy)
  local c, e = live(k, now)
  if c then
    if takenBy and e > takenBy + limitWindow then return end
    local n = c + delta
    if n < 0 then n = 0 end
    redis.call('HSET', k, 'c', n)
  elseif delta > 0 then
    redis.call('HSET', k, 'c', delta, 'e', now + limitWindow)
    redis.call('PEXPIRE', k, limitWindow)
  end
end
-- Counts one event in a bucket whose count \`c\` the script has just read (nil: none live):
-- the same as add(k, now, limitWindow, 1) without reading the bucket again.
local function bump(k, c, now, limitWindow)
  if c then
    redis.call('HSET', k, 'c', c + 1)
  else
    redis.call('HSET', k, 'c', 1, 'e', now + limitWindow)
    redis.call('PEXPIRE', k, limitWindow)
  end
end
local function fraud(k, now, window)
  local v = redis.call('HMGET', k, 's0', 'r0', 's1', 'r1', 'w', 'p')
  local r = { s0 = tonumber(v[1]) or 0, r0 = tonumber(v[2]) or 0, s1 = tonumber(v[3]) or 0, r1 = tonumber(v[4]) or 0, w = tonumber(v[5]) or now, p = tonumber(v[6]) or 0 }
  if now >= r.w + window then
    local passed = math.floor((now - r.w) / window)
    if passed >= 2 then r.s0 = 0 r.r0 = 0 else r.s0 = r.s1 r.r0 = r.r1 end
    r.s1 = 0 r.r1 = 0 r.w = r.w + passed * window
  end
  return r
end
-- The sends and redemptions over the sliding window ending now, and whether they look pumped.
local function looksPumped(r, now, window, minSends, minConversion)
  local weight = 1 - (now - r.w) / window
  local sends = r.s1 + r.s0 * weight
  local red = r.r1 + r.r0 * weight
  return sends >= tonumber(minSends) and red < tonumber(minConversion) * sends, sends, red
end
local function saveFraud(k, r, ttl)
  redis.call('HSET', k, 's0', r.s0, 'r0', r.r0, 's1', r.s1, 'r1', r.r1, 'w', r.w, 'p', r.p)
  redis.call('PEXPIRE', k, ttl)
end
`;

/**
 * TAKE: KEYS = n buckets, then the fraud record (if any), then the code (if any).
 * ARGV = deadline, now, n, hasFraud, hasCode, n x (limit, window),
 *        [minSends, minConversion, window, block, counts], [hash, expiresAt, ttlMs, id, data].
 * Returns {0} taken (and the code saved, now or by an earlier run of the same call), {1, i,
 * retryMs} bucket i full, {2, retryMs} prefix paused, {3, retryMs, sends, redemptions} prefix
 * paused now, {-1} late.
 */
export const TAKE = script(`${COMMON}
if late(ARGV[1]) then return {-1} end
local now = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
-- This start's code already saved: a replay of this very call (ioredis resends a command whose
-- reply a dropped connection lost) answers as the first run did instead of refusing it.
if ARGV[5] == '1' then
  local ca = 6 + n * 2
  if ARGV[4] == '1' then ca = ca + 5 end
  if redis.call('HGET', KEYS[#KEYS], 'i') == ARGV[ca + 3] then return {0} end
end
local seen = {}
for i = 1, n do
  local c, e = live(KEYS[i], now)
  if c and c >= tonumber(ARGV[4 + i * 2]) then return {1, i, e - now} end
  seen[i] = c or false
end
local a = 6 + n * 2
local fr, fk
if ARGV[4] == '1' then
  fk = KEYS[n + 1]
  local window = tonumber(ARGV[a + 2])
  fr = fraud(fk, now, window)
  if fr.p > now then return {2, fr.p - now} end
  local pumped, sends, red = looksPumped(fr, now, window, ARGV[a], ARGV[a + 1])
  if pumped then
    fr.p = now + tonumber(ARGV[a + 3])
    saveFraud(fk, fr, window * 2 + tonumber(ARGV[a + 3]))
    return {3, tonumber(ARGV[a + 3]), tostring(sends), tostring(red)}
  end
  -- A start that sends nothing (a decoy) leaves the record as it was: none for a fresh prefix.
  if ARGV[a + 4] == '1' then
    fr.s1 = fr.s1 + 1
    saveFraud(fk, fr, window * 2 + tonumber(ARGV[a + 3]))
  end
  a = a + 5
end
for i = 1, n do bump(KEYS[i], seen[i] or nil, now, tonumber(ARGV[5 + i * 2])) end
if ARGV[5] == '1' then
  -- Every field of a code is written, so a code the number had before, or the mark a login
  -- left (x), is replaced whole.
  local ck = KEYS[#KEYS]
  redis.call('HSET', ck, 'h', ARGV[a], 'e', ARGV[a + 1], 'a', 0, 'i', ARGV[a + 3], 'd', ARGV[a + 4], 'x', '')
  redis.call('PEXPIRE', ck, ARGV[a + 2])
end
return {0}`);

/**
 * GIVE: KEYS = n buckets, [fraud]; ARGV = deadline, now, n, hasFraud, takenBy or '',
 * n x (limit, window), [minSends, minConversion, fraudWindow]. Gives one event back, to a live
 * window that opened by `takenBy` (a later one is a newer request's). A pause judged while the
 * send was in flight counted an SMS that never went: it is lifted once what remains no longer
 * looks pumped, or failing sends would pause a prefix for free.
 */
export const GIVE = script(`${COMMON}
if late(ARGV[1]) then return {-1} end
local now = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local takenBy = tonumber(ARGV[5])
for i = 1, n do add(KEYS[i], now, tonumber(ARGV[5 + i * 2]), -1, takenBy) end
if ARGV[4] == '1' then
  local k = KEYS[n + 1]
  local a = 6 + n * 2
  local s1 = tonumber(redis.call('HGET', k, 's1') or '0')
  if s1 > 0 then
    redis.call('HINCRBY', k, 's1', -1)
    local window = tonumber(ARGV[a + 2])
    local r = fraud(k, now, window)
    if r.p > now and not looksPumped(r, now, window, ARGV[a], ARGV[a + 1]) then redis.call('HSET', k, 'p', 0) end
  end
end
return {0}`);

/** COUNT: KEYS = n buckets; ARGV = deadline, now, n, n x (limit, window). Counts one event, full or not. */
export const COUNT = script(`${COMMON}
if late(ARGV[1]) then return {-1} end
local now = tonumber(ARGV[2])
for i = 1, tonumber(ARGV[3]) do add(KEYS[i], now, tonumber(ARGV[3 + i * 2]), 1) end
return {0}`);

/** SUCCEEDED: KEYS = n buckets, [fraud]; ARGV = deadline, now, n, hasFraud, [fraudWindow, fraudTtl]. Empties the buckets, counts a redemption. */
export const SUCCEEDED = script(`${COMMON}
if late(ARGV[1]) then return {-1} end
local now = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
for i = 1, n do redis.call('DEL', KEYS[i]) end
if ARGV[4] == '1' then
  local k = KEYS[n + 1]
  local r = fraud(k, now, tonumber(ARGV[5]))
  r.r1 = r.r1 + 1
  saveFraud(k, r, tonumber(ARGV[6]))
end
return {0}`);

/**
 * VERIFY: KEYS = [address bucket], [phone bucket], [fraud], [code], as flagged.
 * ARGV = deadline, now, hasAddress, hasPhone, hasFraud, hasCode, addressLimit, addressWindow,
 *        phoneLimit, phoneWindow, fraudWindow, fraudTtl, hash, maxAttempts, call id.
 * The buckets are checked first; then (with a code) expiry, comparison, attempt count and
 * consumption, and the failure or success is counted in the same step. A redeemed code is
 * emptied (h = '') and marked with the call's id (x) until a second after the deadline (at most
 * a minute), instead of deleted: the same call run again (ioredis resends a command whose reply
 * a dropped connection lost) answers as the first run did, a login, before any bucket is
 * checked, instead of finding the code spent; any other call finds no code.
 * Returns {3, retryMs} address full, {4, retryMs} number full, {0} checked (no code),
 * {5} no live code, {6} wrong code (counted), {2} code void (exhausted), {1, data} ok, {-1} late.
 */
export const VERIFY = script(`${COMMON}
local clocked = clock()
if clocked > tonumber(ARGV[1]) then return {-1} end
local now = tonumber(ARGV[2])
local i = 1
local ak, pk, fk, ck
if ARGV[3] == '1' then ak = KEYS[i] i = i + 1 end
if ARGV[4] == '1' then pk = KEYS[i] i = i + 1 end
if ARGV[5] == '1' then fk = KEYS[i] i = i + 1 end
if ARGV[6] == '1' then ck = KEYS[i] end
local r
if ck then
  r = redis.call('HMGET', ck, 'h', 'e', 'a', 'd', 'x')
  if r[5] == ARGV[15] then return {1, r[4] or ''} end
end
local ac, pc, e
if ak then
  ac, e = live(ak, now)
  if ac and ac >= tonumber(ARGV[7]) then return {3, e - now} end
end
if pk then
  pc, e = live(pk, now)
  if pc and pc >= tonumber(ARGV[9]) then return {4, e - now} end
end
if not ck then return {0} end
if not r[1] or r[1] == '' then return {5} end
if tonumber(r[2]) <= now then redis.call('DEL', ck) return {5} end
if tonumber(r[3]) >= tonumber(ARGV[14]) then return {2} end
if r[1] == ARGV[13] then
  -- Whole milliseconds, within bounds, whatever deadline the caller gave.
  local mark = math.min(math.max(math.floor(tonumber(ARGV[1]) - clocked), 0), 60000) + 1000
  redis.call('HSET', ck, 'h', '', 'x', ARGV[15])
  redis.call('PEXPIRE', ck, mark)
  if pk then redis.call('DEL', pk) end
  if fk then
    local f = fraud(fk, now, tonumber(ARGV[11]))
    f.r1 = f.r1 + 1
    saveFraud(fk, f, tonumber(ARGV[12]))
  end
  return {1, r[4] or ''}
end
redis.call('HINCRBY', ck, 'a', 1)
if ak then bump(ak, ac, now, tonumber(ARGV[8])) end
if pk then bump(pk, pc, now, tonumber(ARGV[10])) end
return {6}`);

/**
 * DROP: KEYS = code; ARGV = deadline, id or ''. Removes a code (its send failed) and answers
 * {0, wrong entries it had}, or {0, -1} when no such code was pending; late, it does nothing.
 */
export const DROP = script(`${COMMON}
if late(ARGV[1]) then return {-1} end
local r = redis.call('HMGET', KEYS[1], 'h', 'i', 'a')
-- No code (a redeemed one leaves only its mark), or with an id another code: a newer start's stays.
if not r[1] or r[1] == '' or (ARGV[2] ~= '' and r[2] ~= ARGV[2]) then return {0, -1} end
redis.call('DEL', KEYS[1])
return {0, tonumber(r[3]) or 0}`);
