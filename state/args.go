package state

import (
	"fmt"
	"time"
)

// The checks below run before either driver touches its store, so that both refuse
// the same arguments with the same error.

func checkWindow(window time.Duration) error {
	// Redis expires keys with millisecond precision; a shorter window cannot exist.
	if window < time.Millisecond {
		return fmt.Errorf("%w: window %s is shorter than 1ms", ErrInvalid, window)
	}
	return nil
}

func checkAmount(name string, v int64) error {
	if v < 0 || v > MaxAmount {
		return fmt.Errorf("%w: %s %d outside [0, %d]", ErrInvalid, name, v, MaxAmount)
	}
	return nil
}

func checkTTL(name string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%w: negative %s %s", ErrInvalid, name, d)
	}
	return nil
}

func checkAdmit(limit, cost int64, window time.Duration) error {
	if err := checkAmount("limit", limit); err != nil {
		return err
	}
	if err := checkAmount("cost", cost); err != nil {
		return err
	}
	return checkWindow(window)
}

func checkAdjust(delta int64, window time.Duration) error {
	if delta < -MaxAmount || delta > MaxAmount {
		return fmt.Errorf("%w: delta %d outside [-%d, %d]", ErrInvalid, delta, MaxAmount, MaxAmount)
	}
	return checkWindow(window)
}

func checkReserve(limit, amount int64, hold, ttl time.Duration) error {
	if err := checkAmount("limit", limit); err != nil {
		return err
	}
	if err := checkAmount("amount", amount); err != nil {
		return err
	}
	if hold < time.Millisecond {
		return fmt.Errorf("%w: hold %s is shorter than 1ms", ErrInvalid, hold)
	}
	return checkTTL("ttl", ttl)
}

func checkSettle(actual int64, ttl time.Duration) error {
	if err := checkAmount("actual", actual); err != nil {
		return err
	}
	return checkTTL("ttl", ttl)
}
