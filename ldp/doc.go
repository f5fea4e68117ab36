// Package ldp stores and serves Linked Data Platform resources and
// containers the way the Solid Protocol asks: JSON-LD and other RDF
// resources, non-RDF resources of any media type, basic containers listed in
// creation order, preconditions, and the headers Solid clients rely on.
//
// Storage paths are "/{pod}/{path}", independent of how pods appear in URLs;
// a path ending in "/" is a container. Resource records and container
// membership live under store.PrefixResource and store.PrefixMember (layout
// in record.go). Authorization is asked of an Authorizer the server supplies.
//
// This package must not import pod, publish, inbox or cmd.
package ldp
