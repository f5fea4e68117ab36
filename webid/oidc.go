package webid

import (
	"context"
	"slices"

	"podserver/rdf"
)

// SolidOIDCIssuer is the predicate by which a WebID profile names the
// Solid-OIDC identity providers trusted to issue tokens for the WebID.
const SolidOIDCIssuer = "http://www.w3.org/ns/solid/terms#oidcIssuer"

// OIDCIssuersOf returns the solid:oidcIssuer values of quads' default
// graph by subject: absolute http(s) IRIs only, sorted, without
// duplicates. It reads a profile held locally the way the Resolver reads a
// fetched one.
func OIDCIssuersOf(quads []rdf.Quad) map[string][]string {
	out := map[string][]string{}
	for _, q := range quads {
		if !q.G.IsZero() || q.S.Kind != rdf.KindIRI || q.P.Value != SolidOIDCIssuer || q.O.Kind != rdf.KindIRI {
			continue
		}
		if checkHTTPURL(q.O.Value) == nil && !slices.Contains(out[q.S.Value], q.O.Value) {
			out[q.S.Value] = append(out[q.S.Value], q.O.Value)
		}
	}
	for _, list := range out {
		slices.Sort(list)
	}
	return out
}

// OIDCIssuers returns the Solid-OIDC issuers (solid:oidcIssuer) the
// profile of webID names, from the cache or by fetching the profile
// document. A profile naming none gives an empty list and no error.
func (r *Resolver) OIDCIssuers(ctx context.Context, webID string) ([]string, error) {
	return r.issuers(ctx, webID, false)
}

// RefreshOIDCIssuers is OIDCIssuers after refetching the profile document,
// unless it was fetched less than MinRefreshInterval ago: for an issuer
// the cached profile does not name (the owner may have added it since).
func (r *Resolver) RefreshOIDCIssuers(ctx context.Context, webID string) ([]string, error) {
	return r.issuers(ctx, webID, true)
}

func (r *Resolver) issuers(ctx context.Context, webID string, refresh bool) ([]string, error) {
	res, docURL, err := r.documentOf(ctx, webID)
	if err != nil {
		return nil, err
	}
	if refresh && r.opts.Now().Sub(res.fetched) >= r.opts.MinRefreshInterval {
		if res = r.get(ctx, docURL, true); res.err != nil {
			return nil, res.err
		}
	}
	return slices.Clone(res.doc.issuers[webID]), nil
}
