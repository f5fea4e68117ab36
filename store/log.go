package store

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// slogAdapter passes Badger's warnings and errors to a slog.Logger and drops
// its info and debug messages.
type slogAdapter struct {
	log *slog.Logger
}

func (a slogAdapter) Errorf(format string, args ...any) {
	a.emit(slog.LevelError, format, args)
}

func (a slogAdapter) Warningf(format string, args ...any) {
	a.emit(slog.LevelWarn, format, args)
}

func (a slogAdapter) Infof(string, ...any) {}

func (a slogAdapter) Debugf(string, ...any) {}

func (a slogAdapter) emit(level slog.Level, format string, args []any) {
	ctx := context.Background()
	if !a.log.Enabled(ctx, level) {
		return
	}
	a.log.Log(ctx, level, strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "badger")
}
