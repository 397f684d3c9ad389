package keyring

import (
	"context"
	"maps"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Sync reads what changed in the store since the last poll and rebuilds the index
// when anything did. It returns once a poll that started after the call has ended.
func (r *Ring) Sync(ctx context.Context) error { return r.fresh.await(ctx, r.sync) }

// Run polls the store every Options.Poll until ctx ends, and judges after each poll
// whether the last success is older than MaxStale (runtime keys are then Unsynced).
// A poll that hangs does not stop the judging: Run waits for it one interval at a
// time. Staleness is logged when it starts and when it ends.
func (r *Ring) Run(ctx context.Context) {
	defer r.stale.Store(false) // nobody judges staleness any more
	t := time.NewTicker(r.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, r.poll)
		err := r.Sync(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		stale := r.now().Sub(time.Unix(0, r.syncedAt.Load())) > r.maxStale
		switch was := r.stale.Swap(stale); {
		case stale && !was:
			r.log.Error("keyring: the state store has not been read for "+r.maxStale.String()+
				"; runtime keys are refused until it is", zap.Error(err))
		case !stale && was:
			r.log.Info("keyring: runtime keys read from the state store again")
		}
	}
}

// sync is one poll. Polls never overlap (the freshener runs one at a time).
func (r *Ring) sync() error {
	ctx, cancel := context.WithTimeout(context.Background(), syncTimeout)
	defer cancel()
	cur := r.cur.Load()
	ch, err := r.store.TableChanges(ctx, table, cur.stamp)
	if err != nil {
		return err
	}
	r.syncedAt.Store(r.now().UnixNano())
	if cur.loaded && !ch.Full && ch.Stamp == cur.stamp {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur = r.cur.Load() // SetConfig may have run meanwhile; rows come only from here
	next := *cur
	next.stamp, next.loaded = ch.Stamp, true
	if ch.Full {
		next.keys, next.teams = map[string]*storedKey{}, map[string]*storedTeam{}
	} else {
		next.keys, next.teams = maps.Clone(cur.keys), maps.Clone(cur.teams)
	}
	for _, name := range ch.Deleted {
		r.forget(&next, name)
	}
	for _, row := range ch.Rows {
		r.forget(&next, row.Name)
		k, t, err := decodeRow(row.Name, row.Value, row.Version)
		switch {
		case err != nil:
			// One damaged row must not take every key down with it.
			r.log.Error("keyring: unreadable row in the state store; it is ignored", zap.String("row", row.Name),
				zap.Error(err))
		case k != nil:
			next.keys[k.Name] = k
		case t != nil:
			next.teams[t.Name] = t
		}
	}
	r.install(&next)
	return nil
}

// forget removes a row's key or team from s.
func (r *Ring) forget(s *snapshot, row string) {
	if name, ok := strings.CutPrefix(row, keyRow); ok {
		delete(s.keys, name)
	} else if name, ok := strings.CutPrefix(row, teamRow); ok {
		delete(s.teams, name)
	}
}

// freshener runs polls one at a time. A caller joins the next poll to start, never
// one already running (which may have read the store before the caller's reason to
// ask, such as a key created a moment ago on another replica). Concurrent callers
// share that one poll, so a flood of unknown tokens costs one store read at a time.
type freshener struct {
	mu      sync.Mutex
	running bool
	next    *round
}

type round struct {
	done chan struct{}
	err  error
}

func (f *freshener) await(ctx context.Context, poll func() error) error {
	f.mu.Lock()
	if f.next == nil {
		f.next = &round{done: make(chan struct{})}
	}
	r := f.next
	if !f.running {
		f.running, f.next = true, nil
		// A goroutine of its own: a caller that gives up must not abandon the
		// others waiting on the same poll.
		go f.loop(r, poll)
	}
	f.mu.Unlock()
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *freshener) loop(r *round, poll func() error) {
	for r != nil {
		r.err = poll()
		close(r.done)
		f.mu.Lock()
		r, f.next = f.next, nil
		f.running = r != nil
		f.mu.Unlock()
	}
}
