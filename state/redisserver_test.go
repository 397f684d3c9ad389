package state

import (
	"os"
	"sync"
	"testing"

	"github.com/switchyard/switchyard/internal/testservers"
)

// ownRedis starts a server for one test, which may stop it early.
func ownRedis(t testing.TB) *testservers.Redis { return testservers.StartRedis(t) }

// shared is the server most tests use; each test isolates itself with its own key
// prefix. TestMain stops it.
var shared struct {
	once sync.Once
	srv  *testservers.Redis
	err  error
}

func sharedRedis(t testing.TB) string {
	t.Helper()
	testservers.RequireRedis(t)
	shared.once.Do(func() { shared.srv, shared.err = testservers.StartRedisShared() })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.srv.Addr
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.srv != nil {
		shared.srv.Stop()
	}
	os.Exit(code)
}
