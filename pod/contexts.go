package pod

import (
	"errors"

	"podserver/netguard"
	"podserver/rdf"
)

// maxContextRedirects is how many redirects a remote context may take:
// w3id.org and similar names redirect to where the document is.
const maxContextRedirects = 3

// newContextReader returns the reader of the RDF that clients write to
// pods and inboxes: remote JSON-LD contexts beyond the built-in ones are
// fetched through a netguard Fetcher of their own (private and loopback
// addresses refused unless Options.AllowPrivateTargets), bounded and
// cached by rdf.Reader. With Options.NoRemoteContexts it is nil: only the
// built-in contexts can be used.
func newContextReader(opts Options) *rdf.Reader {
	if opts.NoRemoteContexts {
		return nil
	}
	client := netguard.NewClient(netguard.Policy{AllowPrivate: opts.AllowPrivateTargets}, netguard.ClientOptions{
		Timeout: rdf.DefaultContextTimeout, MaxResponseBytes: rdf.DefaultMaxContextBytes, MaxRedirects: maxContextRedirects,
	})
	return rdf.NewReader(rdf.ReaderOptions{
		Fetcher: netguard.NewFetcher(client, netguard.FetchLimits{}),
		// Refusals of the fetcher's own limits say nothing of the URL.
		Transient: func(err error) bool {
			return errors.Is(err, netguard.ErrBusy) || errors.Is(err, netguard.ErrHostFailing)
		},
	})
}
