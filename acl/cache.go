package acl

import (
	"sync"

	"podserver/store"
)

// aclDoc is a cached ACL document: whether it exists, its authorizations,
// or the error parsing it gave, and the watch generation it was read under.
type aclDoc struct {
	found bool
	auths []Authorization
	err   error
	gen   uint64
}

// aclCache maps ACL document URLs to parsed documents. It follows the
// store's change feed through a store.Watch (see its protocol): a document
// is stamped with the generation loaded before it was read, and served only
// while that generation is current, so a change of any ACL document,
// however it was written, applies to the next request. Without a watch
// nothing is cached.
type aclCache struct {
	watch *store.Watch

	mu   sync.RWMutex
	docs map[string]aclDoc
	max  int
}

func newACLCache(watch *store.Watch, size int) *aclCache {
	return &aclCache{watch: watch, docs: make(map[string]aclDoc), max: size}
}

// get returns the cached document for url if it is current.
func (c *aclCache) get(url string) (aclDoc, bool) {
	if c.watch == nil {
		return aclDoc{}, false
	}
	c.mu.RLock()
	doc, ok := c.docs[url]
	c.mu.RUnlock()
	if !ok || !c.watch.Current(doc.gen) {
		return aclDoc{}, false
	}
	return doc, true
}

// generation returns the generation to stamp a document read from now on.
func (c *aclCache) generation() uint64 {
	if c.watch == nil {
		return 0
	}
	return c.watch.Generation()
}

// put stores doc, read under generation doc.gen, unless that generation is
// no longer current. When the cache is full it is emptied first: ACL
// documents are few and reloading them is cheap, so no eviction order is
// kept.
func (c *aclCache) put(url string, doc aclDoc) {
	if c.watch == nil || !c.watch.Current(doc.gen) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.docs) >= c.max {
		clear(c.docs)
	}
	c.docs[url] = doc
}
