package config

import "errors"

// CheckReload reports why c may not replace old, the configuration in force, without
// a restart: the state store cannot change under a running process, and a file
// without client keys opens the API only when it says so (open_access: true), so
// that a file that lost its keys (a bad merge, an emptied ConfigMap) cannot open a
// running gateway to anyone who reaches it. Keys issued at run time (runtimeKeys)
// keep the API closed whatever the file says. Startup without keys stays allowed.
func (c *Config) CheckReload(old *Config, runtimeKeys bool) error {
	if old.State != c.State {
		return errors.New("state: changing the state store needs a restart")
	}
	if len(c.Keys) == 0 && !c.OpenAccess && !runtimeKeys {
		return errors.New("keys: the new configuration has no client keys, which would open the API to anyone " +
			"who can reach it; add keys, or set open_access: true to open it deliberately")
	}
	return nil
}
