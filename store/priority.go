package store

import "context"

// backgroundKey is the context key of WithBackground.
type backgroundKey struct{}

// WithBackground marks the Update calls made with the returned context as
// background work: long-running writes nobody waits for interactively (the
// batches of a fan-out job). A backend may run them after the ordinary
// updates queued with them, and bound how many share one commit with
// ordinary updates, so that a burst of background work does not hold back
// the updates a client waits for. Each still runs as one serializable
// transaction that sees every write committed before it: it is admitted
// when the backend takes it, rather than when it was queued.
func WithBackground(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// IsBackground reports whether ctx was marked by WithBackground.
func IsBackground(ctx context.Context) bool {
	v, _ := ctx.Value(backgroundKey{}).(bool)
	return v
}

// Background work per commit (see WithBackground): a batch of the writer
// holds at most BackgroundWithForeground background updates when ordinary
// ones are waiting, and at most BackgroundAlone when none are.
const (
	BackgroundWithForeground = 1
	BackgroundAlone          = 1
)
