// Package pod is the podserver HTTP server: it hosts many pods, resolves
// which pod and resource a request addresses, authenticates API keys,
// provisions pods, and routes requests to the LDP, publish, inbox and
// outbox handlers and to remote's receiving of signed deliveries; it holds
// no delivery logic of its own. One Server is built from Options with New,
// started with Start and stopped with Shutdown, so tests can run several in
// one process.
//
// This package must not import cmd.
package pod

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"podserver/podurl"
	"podserver/publish"
)

// Pod naming modes.
const (
	// NamingPath puts pods at http://HOST/{pod}/.
	NamingPath = podurl.ModePath
	// NamingSubdomain puts pods at http://{pod}.HOST/.
	NamingSubdomain = podurl.ModeSubdomain
)

// Options configure a Server. The zero value of a field takes its default.
type Options struct {
	// Addr is the TCP address to listen on (default "localhost:8080";
	// "127.0.0.1:0" picks a free port). Start listens on it, except that
	// with port 0 and no BaseURL New already does: the base URL names the
	// port, and every part of the server is built with its URL scheme.
	Addr string
	// BaseURL is the server's public URL, e.g. "http://localhost:8080".
	// Default: http:// + the listening address ("localhost" for an
	// unspecified host).
	BaseURL string
	// PodNaming is NamingPath (default) or NamingSubdomain.
	PodNaming string
	// Aliases are other names of this server (hosts, host:port, or base
	// URLs): a WebID or URL naming the server by one of them is local.
	// localhost and 127.0.0.1 name a loopback server alike without being
	// listed.
	Aliases []string
	// DataDir is the on-disk store's directory (default "./data").
	DataDir string
	// InMemory keeps everything in memory (tests).
	InMemory bool
	// StoreURL, a postgres:// (or postgresql://) URL, puts the store in
	// PostgreSQL (store/pgstore), created or migrated on start; DataDir,
	// InMemory and the on-disk store's options are then ignored. Empty:
	// Badger in DataDir.
	StoreURL string
	// Logger receives structured logs (default: discard).
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies (default 10 MiB).
	MaxBodyBytes int64
	// MaxHeaderBytes bounds request headers (default 64 KiB).
	MaxHeaderBytes int
	// AllowPrivateTargets lets outbound requests (webhooks, notification
	// channels, remote inboxes) reach loopback and private addresses. Off
	// by default: targets are checked after DNS resolution. Tests and the
	// demo turn it on.
	AllowPrivateTargets bool
	// NoRemoteContexts turns off the loading of remote JSON-LD contexts:
	// RDF written to pods and inboxes may then name only the contexts
	// built into the binary (rdf.KnownContexts). By default other
	// contexts are fetched (bounded in size and time, cached; see
	// rdf.Reader), from public addresses unless AllowPrivateTargets.
	NoRemoteContexts bool
	// OIDCAccessTokenTTL is the lifetime of the access tokens the
	// server's identity provider issues (default 1h).
	OIDCAccessTokenTTL time.Duration
	// OIDCKeyLifetime is how long the identity provider signs with one
	// key before it rotates (default 30 days); OIDCKeyPublishAhead is how
	// long a new key is published before it signs (default 15 minutes).
	OIDCKeyLifetime     time.Duration
	OIDCKeyPublishAhead time.Duration
	// RetrySchedule is the wait after each failed delivery attempt to
	// another server or a webhook (default 5s, 5m, 30m, 2h, 5h, 10h, 10h);
	// a delivery is dead after len(RetrySchedule)+1 failures.
	RetrySchedule []time.Duration
	// DeliveryTimeout bounds one attempt to deliver to another server or
	// a webhook (default 10s, the outbound client's timeout); a target
	// that does not answer in time is retried.
	DeliveryTimeout time.Duration
	// DeliveryLease is how long a node holds a delivery it attempts
	// before another node sharing the store may attempt it (default twice
	// DeliveryTimeout plus a minute; at least twice DeliveryTimeout). A
	// node killed mid-delivery delays it by up to this much, unless it is
	// restarted under the same Node.
	DeliveryLease time.Duration
	// Node names this server among the nodes sharing one PostgreSQL store
	// (default: the host name and Addr). A node restarted under the same
	// name takes its own delivery leases back at once. Every node must
	// have its own.
	Node string
	// FanoutThreshold is the most subscriber inboxes whose copies a
	// publish writes before it answers (default 64; negative: no bound);
	// past it a durable fan-out job writes them after the answer, in
	// batches of FanoutBatch (default 256), which queue with publishes in
	// arrival order (backpressure), or with FanoutLag > 0 yield to them
	// for that long after their publish.
	FanoutThreshold int
	FanoutBatch     int
	FanoutLag       time.Duration
	// FanoutMaxPending bounds the copies fan-out jobs have yet to write,
	// across every node of the store (default DefaultFanoutMaxPending;
	// negative: no bound). A publish that would queue more waits up to 10
	// seconds for the backlog to fall, then gets 503 with Retry-After.
	FanoutMaxPending int
	// DeliveryPerHost bounds the concurrent delivery attempts to one
	// target host (default 64), so a slow or dead target never delays
	// deliveries to others.
	DeliveryPerHost int
	// SignerKeyWait bounds how long a signed request that is not yet
	// authenticated waits for its signer's profile to be fetched (default
	// 1s). Past it the request gets 503 with Retry-After; the fetch goes
	// on, bounded by the resolver's own timeout, and its result is cached
	// for the sender's retry. A hostile keyid on a silent host so holds a
	// request for this long at most.
	SignerKeyWait time.Duration
	// CommitInterval is the least time between two group commits while
	// the store serves concurrent writers (store.Options.CommitInterval):
	// each sync then covers more updates, which costs the kernel less and
	// shortens the latency tail under load. Default 3ms; negative turns
	// it off. A lone writer is never held back.
	CommitInterval time.Duration
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout are the
	// http.Server timeouts (defaults 10s, 60s, 120s, 120s; WriteTimeout must
	// exceed the longest long-poll wait).
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxConns bounds the connections the server holds at once, and
	// MaxConnsPerIP those from one client address (see connGuard): past a
	// bound, the oldest idle keep-alive connection in the way is closed to
	// make room, or, with none idle, the new connection. Defaults:
	// MaxConns the process's file descriptor limit less 1,024 for the
	// store and outgoing requests (at least 256; 16,384 where the limit
	// cannot be read), MaxConnsPerIP 1,024. Negative: no bound.
	MaxConns, MaxConnsPerIP int
	// MemTableSize is the on-disk store's memtable size
	// (store.Options.MemTableSize, default 32 MiB). The largest
	// transaction, such as one atomic publish, is 15% of it; the default
	// DiskReserve grows with it.
	MemTableSize int64
	// OperatorKey, when set, is the operator key of the operator API
	// (/admin/, package adminapi), replacing any stored one; at least 16
	// printable characters without spaces. Only its SHA-256 hash is
	// stored. When it is empty and the store holds none, New generates one
	// and FirstOperatorKey hands it out once.
	OperatorKey string
	// OpenRegistration lets anyone create a pod with POST /admin/register
	// (rate-limited per client address and for the server). Off by
	// default: only the operator creates pods.
	OpenRegistration bool
	// DiskReserve is the free space, in bytes, kept on the data
	// directory's filesystem for the store's own work
	// (store.Options.MinFreeBytes): below it writes get 507 Insufficient
	// Storage, reads go on, and writes resume once space is freed.
	// Default: 9 memtables + 4 MiB (292 MiB).
	DiskReserve int64
}

// The defaults of Options.FanoutThreshold, FanoutBatch and
// FanoutMaxPending.
const (
	DefaultFanoutThreshold  = publish.DefaultFanoutThreshold
	DefaultFanoutBatch      = publish.DefaultFanoutBatch
	DefaultFanoutMaxPending = publish.DefaultFanoutMaxPending
)

// DefaultCommitInterval is the default Options.CommitInterval.
const DefaultCommitInterval = 3 * time.Millisecond

func (o *Options) setDefaults() error {
	if o.Addr == "" {
		o.Addr = "localhost:8080"
	}
	if o.PodNaming == "" {
		o.PodNaming = NamingPath
	}
	if o.StoreURL != "" && !strings.HasPrefix(o.StoreURL, "postgres://") && !strings.HasPrefix(o.StoreURL, "postgresql://") {
		return fmt.Errorf("store URL must be a postgres:// URL, e.g. postgres://user@host/db")
	}
	if o.DataDir == "" && !o.InMemory {
		o.DataDir = "./data"
	}
	if o.Node == "" {
		host, err := os.Hostname()
		if err != nil {
			host = "localhost"
		}
		o.Node = host + "/" + o.Addr
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 10 << 20
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 64 << 10
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	switch {
	case o.CommitInterval == 0:
		o.CommitInterval = DefaultCommitInterval
	case o.CommitInterval < 0:
		o.CommitInterval = 0
	}
	def(&o.SignerKeyWait, time.Second)
	def(&o.ReadHeaderTimeout, 10*time.Second)
	def(&o.ReadTimeout, 60*time.Second)
	def(&o.WriteTimeout, 120*time.Second)
	def(&o.IdleTimeout, 120*time.Second)
	if o.MaxConns == 0 {
		o.MaxConns = defaultMaxConns()
	}
	if o.MaxConnsPerIP == 0 {
		o.MaxConnsPerIP = 1024
	}
	return nil
}
