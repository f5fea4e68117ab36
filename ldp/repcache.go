package ldp

import (
	"container/list"
	"sync"
)

// repCache keeps converted representations by their entity tag, which
// changes whenever the stored resource does, so entries never go stale;
// the least recently used are dropped beyond a byte budget. It needs no
// store.Watch: every GET reads the record (and so its current tag) from
// the store first, so a write from anywhere selects a new entry.
type repCache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	order *list.List // front = most recent; values are *repEntry
	byTag map[string]*list.Element
}

type repEntry struct {
	tag  string
	body []byte
}

func newRepCache(max int64) *repCache {
	return &repCache{max: max, order: list.New(), byTag: map[string]*list.Element{}}
}

// get returns the cached representation for tag, computing it with make on
// a miss.
func (c *repCache) get(tag string, make func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	if e, ok := c.byTag[tag]; ok {
		c.order.MoveToFront(e)
		b := e.Value.(*repEntry).body
		c.mu.Unlock()
		return b, nil
	}
	c.mu.Unlock()
	b, err := make()
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > c.max/4 {
		return b, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byTag[tag]; ok {
		return b, nil
	}
	c.byTag[tag] = c.order.PushFront(&repEntry{tag: tag, body: b})
	c.size += int64(len(b))
	for c.size > c.max {
		e := c.order.Back()
		re := e.Value.(*repEntry)
		c.order.Remove(e)
		delete(c.byTag, re.tag)
		c.size -= int64(len(re.body))
	}
	return b, nil
}
