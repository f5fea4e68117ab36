package acl

import "sync"

// aclDoc is a cached ACL document: whether it exists, its authorizations,
// or the error parsing it gave.
type aclDoc struct {
	found bool
	auths []Authorization
	err   error
}

// aclCache maps ACL document URLs to parsed documents. The generation
// counter keeps a load that raced with clear from storing stale data: put
// only stores when no clear happened since the load began.
type aclCache struct {
	mu   sync.RWMutex
	gen  uint64
	docs map[string]aclDoc
	max  int
}

func newACLCache(size int) aclCache {
	return aclCache{docs: make(map[string]aclDoc), max: size}
}

func (c *aclCache) get(url string) (aclDoc, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	doc, ok := c.docs[url]
	return doc, ok
}

func (c *aclCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put stores doc unless the cache was cleared since generation gen was read.
// When the cache is full it is emptied first: ACL documents are few and
// reloading them is cheap, so no eviction order is kept.
func (c *aclCache) put(url string, doc aclDoc, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.docs) >= c.max {
		clear(c.docs)
	}
	c.docs[url] = doc
}

func (c *aclCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.docs)
}
