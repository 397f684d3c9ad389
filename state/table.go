package state

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// Expected versions of TablePut and TableDelete.
const (
	// AnyVersion writes whatever the row's current version (last writer wins).
	AnyVersion int64 = -1
	// Absent creates a row: the write fails with ErrConflict when it exists.
	Absent int64 = 0
)

// Stamp identifies a table's state. Seq grows by one with every write or deletion
// (a row's Version is the Seq of its last write). Epoch names one life of the
// table: a Redis that lost its data starts a new table with a new epoch, so that a
// cache never mistakes the new table's Seq 5 for the old one's.
type Stamp struct {
	Epoch string
	Seq   int64
}

// Row is one row of a table.
type Row struct {
	Name    string
	Value   []byte
	Version int64
}

// Changes is what TableChanges found.
type Changes struct {
	Stamp
	// Full means Rows is the whole table: the cache replaces what it holds.
	Full bool
	// Rows were written after the stamp asked about (every row when Full).
	Rows []Row
	// Deleted names the rows deleted after the stamp asked about (never when Full).
	Deleted []string
}

// tombstones bounds the deletions a table remembers. Beyond it the oldest are
// forgotten and a cache older than them gets the whole table (Full) instead of a
// delta: a revoked key can never survive in a cache that missed its deletion. A
// variable so that tests can reach the bound cheaply.
var tombstones = 1024

// newEpoch is a table's epoch, chosen by the replica that first writes it.
func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func checkExpect(expect int64, deleting bool) error {
	if expect < AnyVersion || (deleting && expect == Absent) {
		return fmt.Errorf("%w: expected version %d", ErrInvalid, expect)
	}
	return nil
}
