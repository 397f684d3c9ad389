package config

import (
	"fmt"

	"github.com/fsnotify/fsnotify"
	"github.com/spf13/viper"
)

// Watch calls onChange whenever the file at path changes, including Kubernetes'
// ConfigMap update, which swaps a symlink in the mounted directory instead of
// writing the file (viper's WatchConfig follows the link). The watch lasts for the
// life of the process.
//
// viper exits the process when it cannot create a watcher, so Watch checks first
// and returns the error instead: the caller keeps SIGHUP and /admin/reload.
func Watch(path string, onChange func()) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching %s: %w", path, err)
	}
	w.Close()
	v := viper.New()
	v.SetConfigFile(path)
	v.SetConfigType("yaml")
	if err := v.ReadInConfig(); err != nil {
		return fmt.Errorf("watching %s: %w", path, err)
	}
	v.OnConfigChange(func(fsnotify.Event) { onChange() })
	v.WatchConfig()
	return nil
}
