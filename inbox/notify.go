package inbox

import "sync"

// Notifier wakes the readers long-polling an inbox. A reader takes the
// inbox's channel with Watch before it looks at the inbox, then waits on the
// channel; Notify, called once an arrival is durable (Inboxes.Observe,
// from the store's change feed), closes it. Taking the channel first means an arrival between
// the look and the wait is never missed: either the look saw it, or the
// channel is closed by its Notify. No polling.
type Notifier struct {
	mu sync.Mutex
	ch map[string]chan struct{}
}

// NewNotifier returns an empty Notifier.
func NewNotifier() *Notifier { return &Notifier{ch: make(map[string]chan struct{})} }

// Watch returns a channel that is closed at the next arrival in key.
func (n *Notifier) Watch(key string) <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, ok := n.ch[key]
	if !ok {
		c = make(chan struct{})
		n.ch[key] = c
	}
	return c
}

// Notify wakes every reader watching key. It is cheap when nobody watches.
func (n *Notifier) Notify(key string) {
	n.mu.Lock()
	c, ok := n.ch[key]
	if ok {
		delete(n.ch, key)
	}
	n.mu.Unlock()
	if ok {
		close(c)
	}
}

// NotifyAll wakes every reader.
func (n *Notifier) NotifyAll() {
	n.mu.Lock()
	chs := n.ch
	n.ch = make(map[string]chan struct{})
	n.mu.Unlock()
	for _, c := range chs {
		close(c)
	}
}
