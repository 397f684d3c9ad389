package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// A table is four Redis keys sharing one hash tag, so that a script may touch them
// all in one Cluster slot: a hash "meta" {e = epoch, s = seq, h = horizon}, a hash
// "rows" (name → value), a sorted set "vers" (name scored by its version) and a
// sorted set "dels" (deleted name scored by the seq of its deletion). Versions are
// below 2^53, exact as sorted-set scores and Lua numbers.
func (r *redisStore) tableKeys(table string) []string {
	base := r.prefix + "table:{" + table + "}:"
	return []string{base + "meta", base + "rows", base + "vers", base + "dels"}
}

// scriptTablePut: KEYS meta, rows, vers, dels; ARGV name, value, expect, epoch.
// Returns the new version, or -1 when the expectation fails.
var scriptTablePut = redis.NewScript(`
local cur = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[1]) or '0')
local expect = tonumber(ARGV[3])
if (expect == 0 and cur ~= 0) or (expect > 0 and cur ~= expect) then return -1 end
redis.call('HSETNX', KEYS[1], 'e', ARGV[4])
local v = redis.call('HINCRBY', KEYS[1], 's', 1)
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], v, ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return v
`)

// scriptTableDelete: KEYS as above; ARGV name, expect, epoch, tombstones. Returns the
// new seq, 0 when there is no row, -1 when the expectation fails. Deletions beyond
// the bound are forgotten, oldest first, and the horizon moves to the newest of them.
var scriptTableDelete = redis.NewScript(`
local cur = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[1]) or '0')
if cur == 0 then return 0 end
local expect = tonumber(ARGV[2])
if expect > 0 and cur ~= expect then return -1 end
redis.call('HSETNX', KEYS[1], 'e', ARGV[3])
local v = redis.call('HINCRBY', KEYS[1], 's', 1)
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], v, ARGV[1])
local extra = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[4])
if extra > 0 then
  local old = redis.call('ZRANGE', KEYS[4], 0, extra - 1, 'WITHSCORES')
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, extra - 1)
  local h = tonumber(old[#old])
  if h > tonumber(redis.call('HGET', KEYS[1], 'h') or '0') then
    redis.call('HSET', KEYS[1], 'h', string.format('%d', h))
  end
end
return v
`)

// scriptTableGet: KEYS as above; ARGV name. Returns {value, version} or nil.
var scriptTableGet = redis.NewScript(`
local v = redis.call('HGET', KEYS[2], ARGV[1])
if not v then return false end
return {v, redis.call('ZSCORE', KEYS[3], ARGV[1])}
`)

// scriptTableChanges: KEYS as above; ARGV epoch and seq of the caller's stamp.
// Returns {epoch, seq, full (0|1), {name, version, ...}, {value, ...}, {deleted, ...}}.
// Values are read in chunks: Lua's unpack has a bounded stack.
var scriptTableChanges = redis.NewScript(`
local m = redis.call('HMGET', KEYS[1], 'e', 's', 'h')
local epoch, seq, h = m[1] or '', tonumber(m[2] or '0'), tonumber(m[3] or '0')
local since = tonumber(ARGV[2])
local full = epoch ~= ARGV[1] or since < h or since > seq
local after = since
if full then after = 0 end
local names = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. string.format('%d', after), '+inf', 'WITHSCORES')
local values = {}
local i = 1
while i <= #names do
  local chunk = {}
  while i <= #names and #chunk < 1000 do
    chunk[#chunk + 1] = names[i]
    i = i + 2
  end
  local got = redis.call('HMGET', KEYS[2], unpack(chunk))
  for k = 1, #chunk do values[#values + 1] = got[k] or '' end
end
local dels = {}
if not full then
  dels = redis.call('ZRANGEBYSCORE', KEYS[4], '(' .. string.format('%d', after), '+inf')
end
return {epoch, seq, full and 1 or 0, names, values, dels}
`)

func (r *redisStore) TablePut(ctx context.Context, table, name string, value []byte, expect int64) (int64, error) {
	if err := checkExpect(expect, false); err != nil {
		return 0, err
	}
	cctx, cancel := r.call(ctx)
	defer cancel()
	v, err := scriptTablePut.Run(cctx, r.c, r.tableKeys(table), name, value, expect, newEpoch()).Int64()
	if err != nil {
		return 0, r.fail(ctx, err)
	}
	if v < 0 {
		return 0, ErrConflict
	}
	return v, nil
}

func (r *redisStore) TableDelete(ctx context.Context, table, name string, expect int64) (int64, error) {
	if err := checkExpect(expect, true); err != nil {
		return 0, err
	}
	cctx, cancel := r.call(ctx)
	defer cancel()
	v, err := scriptTableDelete.Run(cctx, r.c, r.tableKeys(table), name, expect, newEpoch(), tombstones).Int64()
	switch {
	case err != nil:
		return 0, r.fail(ctx, err)
	case v == 0:
		return 0, ErrNotFound
	case v < 0:
		return 0, ErrConflict
	}
	return v, nil
}

func (r *redisStore) TableGet(ctx context.Context, table, name string) (Row, error) {
	cctx, cancel := r.call(ctx)
	defer cancel()
	res, err := scriptTableGet.Run(cctx, r.c, r.tableKeys(table), name).Slice()
	if errors.Is(err, redis.Nil) {
		return Row{}, ErrNotFound
	}
	if err != nil {
		return Row{}, r.fail(ctx, err)
	}
	if len(res) != 2 {
		return Row{}, fmt.Errorf("state: redis: table get returned %d values", len(res))
	}
	value, _ := res[0].(string)
	ver, err := strconv.ParseInt(fmt.Sprint(res[1]), 10, 64)
	if err != nil {
		return Row{}, fmt.Errorf("state: redis: table row version %v", res[1])
	}
	return Row{Name: name, Value: []byte(value), Version: ver}, nil
}

func (r *redisStore) TableStamp(ctx context.Context, table string) (Stamp, error) {
	cctx, cancel := r.call(ctx)
	defer cancel()
	res, err := r.c.HMGet(cctx, r.tableKeys(table)[0], "e", "s").Result()
	if err != nil {
		return Stamp{}, r.fail(ctx, err)
	}
	var st Stamp
	st.Epoch, _ = res[0].(string)
	if s, ok := res[1].(string); ok {
		if st.Seq, err = strconv.ParseInt(s, 10, 64); err != nil {
			return Stamp{}, fmt.Errorf("state: redis: table seq %q", s)
		}
	}
	return st, nil
}

func (r *redisStore) TableChanges(ctx context.Context, table string, since Stamp) (Changes, error) {
	cctx, cancel := r.call(ctx)
	defer cancel()
	res, err := scriptTableChanges.Run(cctx, r.c, r.tableKeys(table), since.Epoch, since.Seq).Slice()
	if err != nil {
		return Changes{}, r.fail(ctx, err)
	}
	ch, ok := decodeChanges(res)
	if !ok {
		return Changes{}, fmt.Errorf("state: redis: malformed table changes %v", res)
	}
	return ch, nil
}

// decodeChanges reads scriptTableChanges's reply.
func decodeChanges(res []any) (Changes, bool) {
	var ch Changes
	if len(res) != 6 {
		return ch, false
	}
	epoch, ok1 := res[0].(string)
	seq, ok2 := res[1].(int64)
	full, ok3 := res[2].(int64)
	names, ok4 := res[3].([]any)
	values, ok5 := res[4].([]any)
	dels, ok6 := res[5].([]any)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || len(names) != 2*len(values) {
		return ch, false
	}
	ch.Stamp, ch.Full = Stamp{Epoch: epoch, Seq: seq}, full == 1
	for i := range values {
		name, _ := names[2*i].(string)
		score, _ := names[2*i+1].(string)
		value, _ := values[i].(string)
		ver, err := strconv.ParseInt(score, 10, 64)
		if err != nil {
			return ch, false
		}
		ch.Rows = append(ch.Rows, Row{Name: name, Value: []byte(value), Version: ver})
	}
	for _, d := range dels {
		name, _ := d.(string)
		ch.Deleted = append(ch.Deleted, name)
	}
	return ch, true
}
