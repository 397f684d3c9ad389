package state

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// A table is a nested bucket of bucketTables named by the prefixed table name. It
// holds "meta" (seq, horizon: 8 bytes each, then the epoch), a bucket "rows" (name →
// version, 8 bytes, then the value) and a bucket "dels" (name → the version of its
// deletion). horizon is the newest deletion forgotten to respect the tombstones
// bound.
var (
	tableMeta = []byte("meta")
	tableRows = []byte("rows")
	tableDels = []byte("dels")
)

type tableState struct {
	seq, horizon int64
	epoch        string
}

func decodeMeta(v []byte) (tableState, error) {
	if v == nil {
		return tableState{}, nil
	}
	if len(v) < 16 {
		return tableState{}, fmt.Errorf("%w: table meta of %d bytes", errCorrupt, len(v))
	}
	return tableState{seq: int64(binary.BigEndian.Uint64(v)), horizon: int64(binary.BigEndian.Uint64(v[8:])),
		epoch: string(v[16:])}, nil
}

func encodeMeta(m tableState) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 16+len(m.epoch)), uint64(m.seq))
	b = binary.BigEndian.AppendUint64(b, uint64(m.horizon))
	return append(b, m.epoch...)
}

func decodeVersioned(v []byte) (int64, []byte, error) {
	if len(v) < 8 {
		return 0, nil, fmt.Errorf("%w: table row of %d bytes", errCorrupt, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), v[8:], nil
}

// tableBuckets returns the table's buckets, creating them when create is set (nil
// when the table does not exist and create is not set).
func (e *embedded) tableBuckets(tx *bolt.Tx, table string, create bool) (t, rows, dels *bolt.Bucket, err error) {
	root := tx.Bucket(bucketTables)
	name := e.key(table)
	if t = root.Bucket(name); t == nil {
		if !create {
			return nil, nil, nil, nil
		}
		if t, err = root.CreateBucket(name); err != nil {
			return nil, nil, nil, err
		}
	}
	if create {
		if rows, err = t.CreateBucketIfNotExists(tableRows); err == nil {
			dels, err = t.CreateBucketIfNotExists(tableDels)
		}
		return t, rows, dels, err
	}
	return t, t.Bucket(tableRows), t.Bucket(tableDels), nil
}

// versionOf is the row's current version, 0 when absent.
func versionOf(rows *bolt.Bucket, name []byte) (int64, error) {
	v := rows.Get(name)
	if v == nil {
		return 0, nil
	}
	ver, _, err := decodeVersioned(v)
	return ver, err
}

// matches reports whether a row at version cur satisfies expect.
func matches(cur, expect int64) bool {
	switch expect {
	case AnyVersion:
		return true
	case Absent:
		return cur == 0
	}
	return cur == expect
}

// bump moves the table to its next sequence number, giving it an epoch when new.
func bump(t *bolt.Bucket) (tableState, error) {
	m, err := decodeMeta(t.Get(tableMeta))
	if err != nil {
		return m, err
	}
	if m.epoch == "" {
		m.epoch = newEpoch()
	}
	m.seq++
	return m, nil
}

func (e *embedded) TablePut(ctx context.Context, table, name string, value []byte, expect int64) (int64, error) {
	if err := checkExpect(expect, false); err != nil {
		return 0, err
	}
	var ver int64
	err := e.update(ctx, table, func(tx *bolt.Tx) error {
		t, rows, dels, err := e.tableBuckets(tx, table, true)
		if err != nil {
			return err
		}
		cur, err := versionOf(rows, []byte(name))
		if err != nil {
			return err
		}
		if !matches(cur, expect) {
			return ErrConflict
		}
		m, err := bump(t)
		if err != nil {
			return err
		}
		ver = m.seq
		v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(value)), uint64(ver))
		if err := rows.Put([]byte(name), append(v, value...)); err != nil {
			return err
		}
		if err := dels.Delete([]byte(name)); err != nil {
			return err
		}
		return t.Put(tableMeta, encodeMeta(m))
	})
	return ver, e.wrapTable(table, err)
}

func (e *embedded) TableDelete(ctx context.Context, table, name string, expect int64) (int64, error) {
	if err := checkExpect(expect, true); err != nil {
		return 0, err
	}
	var seq int64
	err := e.update(ctx, table, func(tx *bolt.Tx) error {
		t, rows, dels, err := e.tableBuckets(tx, table, true)
		if err != nil {
			return err
		}
		cur, err := versionOf(rows, []byte(name))
		switch {
		case err != nil:
			return err
		case cur == 0:
			return ErrNotFound
		case !matches(cur, expect):
			return ErrConflict
		}
		m, err := bump(t)
		if err != nil {
			return err
		}
		seq = m.seq
		if err := rows.Delete([]byte(name)); err != nil {
			return err
		}
		if err := dels.Put([]byte(name), binary.BigEndian.AppendUint64(nil, uint64(seq))); err != nil {
			return err
		}
		if m.horizon, err = forgetTombstones(dels, m.horizon); err != nil {
			return err
		}
		return t.Put(tableMeta, encodeMeta(m))
	})
	return seq, e.wrapTable(table, err)
}

// forgetTombstones deletes the oldest deletions beyond the bound and returns the new
// horizon. A linear scan: the embedded table is one process's, and deletions rare.
func forgetTombstones(dels *bolt.Bucket, horizon int64) (int64, error) {
	type tomb struct {
		name []byte
		ver  int64
	}
	var all []tomb
	err := dels.ForEach(func(k, v []byte) error {
		ver, _, err := decodeVersioned(v)
		all = append(all, tomb{bytes.Clone(k), ver})
		return err
	})
	if err != nil || len(all) <= tombstones {
		return horizon, err
	}
	slices.SortFunc(all, func(a, b tomb) int { return cmp.Compare(a.ver, b.ver) })
	for _, t := range all[:len(all)-tombstones] {
		if err := dels.Delete(t.name); err != nil {
			return horizon, err
		}
		horizon = max(horizon, t.ver)
	}
	return horizon, nil
}

func (e *embedded) TableGet(ctx context.Context, table, name string) (Row, error) {
	var row Row
	err := e.view(ctx, table, func(tx *bolt.Tx) error {
		_, rows, _, err := e.tableBuckets(tx, table, false)
		if err != nil {
			return err
		}
		var v []byte
		if rows != nil {
			v = rows.Get([]byte(name))
		}
		if v == nil {
			return ErrNotFound
		}
		ver, val, err := decodeVersioned(v)
		row = Row{Name: name, Value: bytes.Clone(val), Version: ver}
		return err
	})
	return row, e.wrapTable(table, err)
}

func (e *embedded) TableStamp(ctx context.Context, table string) (Stamp, error) {
	var st Stamp
	err := e.view(ctx, table, func(tx *bolt.Tx) error {
		t, _, _, err := e.tableBuckets(tx, table, false)
		if err != nil || t == nil {
			return err
		}
		m, err := decodeMeta(t.Get(tableMeta))
		st = Stamp{Epoch: m.epoch, Seq: m.seq}
		return err
	})
	return st, e.wrapTable(table, err)
}

func (e *embedded) TableChanges(ctx context.Context, table string, since Stamp) (Changes, error) {
	var ch Changes
	err := e.view(ctx, table, func(tx *bolt.Tx) error {
		ch = Changes{}
		t, rows, dels, err := e.tableBuckets(tx, table, false)
		if err != nil || t == nil {
			ch.Full = since != (Stamp{})
			return err
		}
		m, err := decodeMeta(t.Get(tableMeta))
		if err != nil {
			return err
		}
		ch.Stamp = Stamp{Epoch: m.epoch, Seq: m.seq}
		ch.Full = since.Epoch != m.epoch || since.Seq < m.horizon || since.Seq > m.seq
		after := since.Seq
		if ch.Full {
			after = 0
		}
		err = rows.ForEach(func(k, v []byte) error {
			ver, val, err := decodeVersioned(v)
			if err == nil && ver > after {
				ch.Rows = append(ch.Rows, Row{Name: string(k), Value: bytes.Clone(val), Version: ver})
			}
			return err
		})
		if err != nil || ch.Full {
			return err
		}
		return dels.ForEach(func(k, v []byte) error {
			ver, _, err := decodeVersioned(v)
			if err == nil && ver > after {
				ch.Deleted = append(ch.Deleted, string(k))
			}
			return err
		})
	})
	return ch, e.wrapTable(table, err)
}

// wrapTable leaves ErrConflict bare, as wrap does ErrNotFound: both are answers, not
// failures.
func (e *embedded) wrapTable(table string, err error) error {
	if errors.Is(err, ErrConflict) {
		return ErrConflict
	}
	return e.wrap(table, err)
}
