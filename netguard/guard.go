// Package netguard makes outbound HTTP requests to addresses that outside
// input chose (webhook targets, remote inboxes, WebID profiles) safe for the
// server: it refuses to connect to any address that is not global unicast
// (loopback, private, link-local, CGNAT, documentation, benchmarking,
// multicast, reserved, ...), to the addresses of the server's own
// interfaces and to cloud metadata addresses, checked on the address
// actually dialled after DNS resolution (so DNS rebinding cannot get
// through), limits redirects, response sizes and time, and never uses a
// proxy from the environment.
//
// This package must not import any other podserver package.
package netguard

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// Policy says which addresses outbound connections may reach.
type Policy struct {
	// AllowPrivate allows loopback, private, link-local, CGNAT and other
	// addresses that are not global unicast, and the host's own
	// addresses, for tests and demos on one machine. Cloud metadata
	// addresses stay refused.
	AllowPrivate bool
	// Own holds the addresses of the host's interfaces, refused unless
	// AllowPrivate (a service listening on 0.0.0.0 is reachable on the
	// server's public address too). NewClient fills in a new one when nil;
	// a Policy used without NewClient and without Own does not check them.
	Own *OwnAddrs
}

// refusedPrefixes are the IPv4 ranges and the IPv6 ones within global
// unicast (2000::/3) that are not globally reachable unicast addresses
// (the IANA special-purpose address registries), and the most common IPv6
// ones outside it, named for clearer errors. Any other IPv6 address
// outside 2000::/3 is refused as well, except the IPv4-mapped and NAT64 forms,
// which are checked by the IPv4 address they carry (as are 6to4 ones).
var refusedPrefixes = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this network / unspecified"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private (RFC 1918)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space (CGNAT)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private (RFC 1918)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation (TEST-NET-1)"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay anycast (deprecated)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private (RFC 1918)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation (TEST-NET-2)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation (TEST-NET-3)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved / broadcast"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("fc00::/7"), "unique local (RFC 4193)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
	{netip.MustParsePrefix("2001::/23"), "IETF protocol assignments (Teredo, benchmarking, ORCHID, ...)"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("3fff::/20"), "documentation"},
}

// globalUnicast6 is the IPv6 global unicast range.
var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// metadataAddrs are cloud instance metadata endpoints, refused even with
// AllowPrivate.
var metadataAddrs = map[netip.Addr]bool{
	netip.MustParseAddr("169.254.169.254"): true, // AWS, GCP, Azure, OpenStack, ...
	netip.MustParseAddr("169.254.170.2"):   true, // AWS ECS task metadata
	netip.MustParseAddr("100.100.100.200"): true, // Alibaba Cloud
	netip.MustParseAddr("fd00:ec2::254"):   true, // AWS IPv6
}

// Prefixes whose IPv6 addresses carry an IPv4 address.
var (
	ipv4Compatible = netip.MustParsePrefix("::/96")
	nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local     = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour      = netip.MustParsePrefix("2002::/16")
)

// embeddedIPv4 returns the IPv4 address an IPv6 address stands for, if any.
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	if a.Is4In6() {
		return a.Unmap(), true
	}
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	switch {
	case ipv4Compatible.Contains(a) && a != netip.IPv6Unspecified() && a != netip.IPv6Loopback():
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case nat64WellKnown.Contains(a) || nat64Local.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// CheckAddr returns nil when the policy allows connecting to a, and an
// error wrapping ErrRefused that says why not otherwise.
func (p Policy) CheckAddr(a netip.Addr) error {
	if !a.IsValid() {
		return fmt.Errorf("%w: invalid address", ErrRefused)
	}
	a = a.WithZone("")
	if v4, ok := embeddedIPv4(a); ok {
		if err := p.CheckAddr(v4); err != nil {
			return fmt.Errorf("%w (as %s)", err, a)
		}
		if a.Is4In6() || nat64WellKnown.Contains(a) || nat64Local.Contains(a) {
			return nil
		}
	}
	if metadataAddrs[a] {
		return fmt.Errorf("%w: %s is a cloud metadata address", ErrRefused, a)
	}
	if p.AllowPrivate {
		return nil
	}
	for _, r := range refusedPrefixes {
		if r.prefix.Contains(a) {
			return fmt.Errorf("%w: %s is %s", ErrRefused, a, r.why)
		}
	}
	if a.Is6() && !globalUnicast6.Contains(a) {
		return fmt.Errorf("%w: %s is not a global unicast address", ErrRefused, a)
	}
	if p.Own != nil && p.Own.Contains(a) {
		return fmt.Errorf("%w: %s is an address of this host", ErrRefused, a)
	}
	return nil
}

// Control is a net.Dialer Control function enforcing the policy. It runs
// after DNS resolution, for each address the dialer is about to connect
// to, so a name that resolves (or re-resolves) to a refused address fails.
// Only TCP is allowed.
func (p Policy) Control(network, address string, _ syscall.RawConn) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fmt.Errorf("%w: network %q", ErrRefused, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse dialled address %q: %w", ErrRefused, address, err)
	}
	return p.CheckAddr(ap.Addr())
}

// Dialer returns a net.Dialer that enforces the policy, with no timeout of
// its own (NewClient sets one).
func (p Policy) Dialer() *net.Dialer {
	return &net.Dialer{Control: p.Control}
}
