package state

import "github.com/redis/go-redis/v9"

// Every compound operation of the redis driver is one Lua script: Redis runs a script
// atomically, so N replicas calling it see one counter and one budget. Scripts read
// the server's clock (TIME), not the replicas': windows and holds then mean the same
// to every replica whatever their clock skew. TIME before a write needs script
// effects replication, the default since Redis 5.
//
// Each script touches exactly the one key it declares in KEYS, as Redis Cluster
// requires. Lua 5.1 numbers are doubles: amounts stay below 2^53 (MaxAmount) and
// are written back with string.format('%d'), because a number passed to redis.call
// may otherwise be formatted with an exponent.
//
// redis.NewScript runs EVALSHA and falls back to EVAL when the server does not know
// the script yet (after a restart or SCRIPT FLUSH).

// luaNow is the server's clock in milliseconds.
const luaNow = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// A window is a hash {w = window start (ms), n = count} that expires with its window.
// A count of another window is stale and reads as 0.
const luaWindow = luaNow + `
local w = tonumber(ARGV[2])
local start = now - now % w
local cur = redis.call('HMGET', KEYS[1], 'w', 'n')
local n = 0
if tonumber(cur[1]) == start then n = tonumber(cur[2]) end
`

// scriptAdmit: KEYS[1] window; ARGV limit, window (ms), cost.
// Returns {allowed (0|1), count, ms until the window ends}.
var scriptAdmit = redis.NewScript(luaWindow + `
local limit, cost = tonumber(ARGV[1]), tonumber(ARGV[3])
if n + cost > limit then return {0, n, start + w - now} end
n = n + cost
redis.call('HSET', KEYS[1], 'w', string.format('%d', start), 'n', string.format('%d', n))
redis.call('PEXPIREAT', KEYS[1], string.format('%d', start + w))
return {1, n, start + w - now}
`)

// scriptAdjust: KEYS[1] window; ARGV max amount, window (ms), delta.
var scriptAdjust = redis.NewScript(luaWindow + `
n = math.max(0, math.min(n + tonumber(ARGV[3]), tonumber(ARGV[1])))
redis.call('HSET', KEYS[1], 'w', string.format('%d', start), 'n', string.format('%d', n))
redis.call('PEXPIREAT', KEYS[1], string.format('%d', start + w))
return n
`)

// A budget is a hash: field "spent", and one field "r:<id>" per reservation holding
// "<amount>:<expiry ms>". luaHolds sums the live reservations (of ids other than
// `mine`, and mine apart) and deletes lapsed ones when asked to.
const luaHolds = luaNow + `
local function holds(key, mine, drop)
  local all = redis.call('HGETALL', key)
  local spent, others, prior = 0, 0, 0
  for i = 1, #all, 2 do
    local f, v = all[i], all[i + 1]
    if f == 'spent' then
      spent = tonumber(v)
    else
      local sep = string.find(v, ':', 1, true)
      local amount = sep and tonumber(string.sub(v, 1, sep - 1))
      local expires = sep and tonumber(string.sub(v, sep + 1))
      if not (amount and expires) or expires <= now then
        if drop then redis.call('HDEL', key, f) end
      elseif f == mine then
        prior = amount
      else
        others = others + amount
      end
    end
  end
  return spent, others, prior
end
`

// scriptReserve: KEYS[1] budget; ARGV id, limit, amount, hold (ms), ttl (ms; 0 keeps
// the key's TTL). Returns {ok (0|1), spent, reserved}.
var scriptReserve = redis.NewScript(luaHolds + `
local field = 'r:' .. ARGV[1]
local spent, others, prior = holds(KEYS[1], field, true)
local amount = tonumber(ARGV[3])
if spent + others + amount > tonumber(ARGV[2]) then return {0, spent, others + prior} end
redis.call('HSET', KEYS[1], field, ARGV[3] .. ':' .. string.format('%d', now + tonumber(ARGV[4])))
if tonumber(ARGV[5]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
return {1, spent, others + amount}
`)

// scriptSettle: KEYS[1] budget; ARGV id, actual, ttl (ms; 0 keeps the key's TTL),
// max amount. Spent saturates at the max instead of overflowing.
var scriptSettle = redis.NewScript(`
redis.call('HDEL', KEYS[1], 'r:' .. ARGV[1])
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0') + tonumber(ARGV[2])
spent = math.min(spent, tonumber(ARGV[4]))
redis.call('HSET', KEYS[1], 'spent', string.format('%d', spent))
if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return spent
`)

// scriptUsage: KEYS[1] budget. Returns {spent, live reserved}; writes nothing.
var scriptUsage = redis.NewScript(luaHolds + `
local spent, others = holds(KEYS[1], '', false)
return {spent, others}
`)
