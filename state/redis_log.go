package state

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/switchyard/switchyard/config"
)

// redisLogger sends go-redis's own messages (failed dials, pool and failover events)
// to zap instead of stderr, with the passwords scrubbed should one ever appear.
type redisLogger struct {
	log     *zap.Logger
	secrets []string
}

func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	if ce := l.log.Check(zap.WarnLevel, "state: redis client"); ce != nil {
		msg := fmt.Sprintf(format, v...)
		for _, s := range l.secrets {
			if s != "" {
				msg = strings.ReplaceAll(msg, s, config.RedactedURLPart)
			}
		}
		ce.Write(zap.String("detail", msg))
	}
}

// useRedisLogger installs log as go-redis's logger. go-redis has one logger per
// process: the store opened last sets it, which suits a binary that has one.
func useRedisLogger(log *zap.Logger, secrets []string) {
	redis.SetLogger(redisLogger{log: log, secrets: secrets})
}
