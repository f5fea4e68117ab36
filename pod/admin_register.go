package pod

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/adminapi"
	"podserver/apierr"
	"podserver/podurl"
)

// Open registration's rate limits: token buckets, one per client address
// and one for the server, each holding up to its burst and refilled at its
// rate.
const (
	registerBurstPerIP  = 3
	registerEveryPerIP  = 10 * time.Minute // one more per client address
	registerBurstGlobal = 30
	registerEveryGlobal = 20 * time.Second // one more for the server
	// registerMaxClients bounds the client addresses remembered; past it
	// the full buckets are dropped (a full bucket is a new client's).
	registerMaxClients = 10000
)

// register serves /admin/register: GET says whether registration is open;
// POST {"name": "..."} creates a pod for anyone when it is.
func (a *admin) register(c *gin.Context) error {
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead:
		c.JSON(http.StatusOK, adminapi.Registration{Open: a.s.opts.OpenRegistration})
		return nil
	case http.MethodPost:
	default:
		return methodNotAllowed("GET, POST")
	}
	if !a.s.opts.OpenRegistration {
		return errRegistration
	}
	name, err := readName(c, 4<<10)
	if err != nil {
		return err
	}
	// Names that cannot be created take no token.
	if !podurl.ValidName(name) {
		return podError(name, ErrInvalidPodName)
	}
	if wait := a.limits.take(c.ClientIP(), time.Now()); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		return apierr.Newf(http.StatusTooManyRequests, "too many registrations: try again in %d seconds", secs).
			With("Retry-After", strconv.Itoa(secs))
	}
	return a.createPod(c, name)
}

// bucket is a token bucket.
type bucket struct {
	tokens float64
	at     time.Time
}

// take refills b to now and takes a token; otherwise it returns how long
// until one is there.
func (b *bucket) take(now time.Time, burst int, every time.Duration) time.Duration {
	b.tokens = math.Min(float64(burst), b.tokens+float64(now.Sub(b.at))/float64(every))
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(every))
}

// registrationLimits are open registration's buckets.
type registrationLimits struct {
	mu      sync.Mutex
	global  bucket
	clients map[string]*bucket
}

func newRegistrationLimits() *registrationLimits {
	return &registrationLimits{global: bucket{tokens: registerBurstGlobal}, clients: map[string]*bucket{}}
}

// take takes a registration for client at now from its bucket and the
// server's, or returns the wait until both have one (taking from neither).
func (l *registrationLimits) take(client string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.clients[client]
	if !ok {
		if len(l.clients) >= registerMaxClients {
			l.prune(now)
		}
		b = &bucket{tokens: registerBurstPerIP, at: now}
		l.clients[client] = b
	}
	if wait := b.take(now, registerBurstPerIP, registerEveryPerIP); wait > 0 {
		return wait
	}
	if wait := l.global.take(now, registerBurstGlobal, registerEveryGlobal); wait > 0 {
		b.tokens++ // the client's token goes back
		return wait
	}
	return 0
}

// prune drops the buckets that are full again (their clients are as new).
func (l *registrationLimits) prune(now time.Time) {
	full := time.Duration(registerBurstPerIP) * registerEveryPerIP
	for k, b := range l.clients {
		if now.Sub(b.at) >= full {
			delete(l.clients, k)
		}
	}
	if len(l.clients) >= registerMaxClients {
		clear(l.clients) // a flood of addresses: start over
	}
}
