package pod

import (
	"context"
	"fmt"

	"podserver/acl"
	"podserver/ldp"
	"podserver/store"
)

// inboxACL implements publish.InboxACL with the server's WAC evaluator: a
// copy goes into a local inbox only when the inbox's ACL lets the agent
// that sends it (the publisher, or the pod whose settings route it)
// append, the check a server receiving the copy over LDN makes of its
// signer (remote.Receive).
type inboxACL struct{ s *Server }

// Generation implements publish.InboxACL: the generation of the ACL
// documents the evaluator caches under.
func (a inboxACL) Generation() uint64 { return a.s.acls.Generation() }

// MayAppend implements publish.InboxACL. The ACL documents the
// evaluator's cache lacks are read through rd, the caller's open read.
func (a inboxACL) MayAppend(ctx context.Context, rd store.Reader, inboxPath, agent string) (bool, error) {
	pod, _ := ldp.SplitStoragePath(inboxPath)
	t := ldp.Target{Pod: pod, Path: inboxPath, Root: a.s.urls.PodRoot(pod)}
	m, err := a.s.eval.AllowedVia(ctx, readerLocator{a.s, rd}, acl.Request{ResourceURL: t.URL(inboxPath), RootURL: t.Root, Agent: agent})
	if err != nil {
		return false, fmt.Errorf("evaluate append to %s: %w", inboxPath, err)
	}
	return m.Grants(acl.Append), nil
}
