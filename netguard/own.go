package netguard

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// ownAddrsMaxAge is how long a reading of the host's interface addresses
// is used before it is read again (an address may come or go: DHCP, a new
// interface).
const ownAddrsMaxAge = time.Minute

// OwnAddrs is the set of the addresses of the host's interfaces, read at
// creation and again, when asked, once the reading is older than a
// minute. It is safe for concurrent use.
type OwnAddrs struct {
	list func() ([]net.Addr, error) // net.InterfaceAddrs
	now  func() time.Time

	mu   sync.Mutex
	set  map[netip.Addr]bool
	read time.Time // of set; zero: never read successfully
}

// NewOwnAddrs reads the host's interface addresses.
func NewOwnAddrs() *OwnAddrs {
	o := &OwnAddrs{list: net.InterfaceAddrs, now: time.Now}
	o.mu.Lock()
	o.refreshLocked()
	o.mu.Unlock()
	return o
}

// Contains reports whether a is an address of one of the host's
// interfaces.
func (o *OwnAddrs) Contains(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.now().Sub(o.read) >= ownAddrsMaxAge {
		o.refreshLocked()
	}
	return o.set[a]
}

// refreshLocked reads the interface addresses; on failure the previous
// set stays (and is read again next time). o.mu must be held.
func (o *OwnAddrs) refreshLocked() {
	addrs, err := o.list()
	if err != nil {
		return
	}
	set := make(map[netip.Addr]bool, len(addrs))
	for _, ad := range addrs {
		var ip net.IP
		switch v := ad.(type) {
		case *net.IPNet:
			ip = v.IP
		case *net.IPAddr:
			ip = v.IP
		}
		if a, ok := netip.AddrFromSlice(ip); ok {
			set[a.Unmap()] = true
		}
	}
	o.set, o.read = set, o.now()
}
