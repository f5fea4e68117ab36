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

// ScheduleBatch is a writer's batching rule for background updates, for
// every backend: of the requests taken from the queue, in order, the
// ordinary ones that admit accepts form the batch and the background ones
// join deferred (those taken earlier and not yet run); then the first of
// deferred that admit accepts are added, BackgroundWithForeground of them
// when the batch holds ordinary requests and BackgroundAlone otherwise.
// admit is called once per request that would join the batch (a backend
// drops there a request whose caller gave up). It returns the batch, which
// reuses taken's array, and the background requests left waiting, which
// reuse deferred's.
func ScheduleBatch[R any](taken, deferred []R, background, admit func(R) bool) (batch, left []R) {
	batch = taken[:0]
	for _, r := range taken {
		if background(r) {
			deferred = append(deferred, r)
		} else if admit(r) {
			batch = append(batch, r)
		}
	}
	n := BackgroundAlone
	if len(batch) > 0 {
		n = BackgroundWithForeground
	}
	i := 0
	for ; i < len(deferred) && n > 0; i++ {
		if admit(deferred[i]) {
			batch = append(batch, deferred[i])
			n--
		}
	}
	left = append(deferred[:0], deferred[i:]...)
	clear(deferred[len(left):])
	return batch, left
}
