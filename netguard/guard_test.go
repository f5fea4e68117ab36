package netguard

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr string
		// refused without AllowPrivate; refused with AllowPrivate
		strict, always bool
	}{
		// public
		{"8.8.8.8", false, false},
		{"93.184.215.14", false, false},
		{"2606:4700:4700::1111", false, false},
		{"::ffff:8.8.8.8", false, false},
		{"64:ff9b::808:808", false, false}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", false, false},  // 6to4 of 8.8.8.8
		{"100.63.255.255", false, false},
		{"100.128.0.0", false, false},
		{"172.15.255.255", false, false},
		{"172.32.0.0", false, false},
		{"11.0.0.1", false, false},
		// loopback
		{"127.0.0.1", true, false},
		{"127.255.255.254", true, false},
		{"::1", true, false},
		{"::ffff:127.0.0.1", true, false},
		{"::127.0.0.1", true, false}, // IPv4-compatible
		// unspecified, "this network"
		{"0.0.0.0", true, false},
		{"0.1.2.3", true, false},
		{"::", true, false},
		{"::ffff:0.0.0.0", true, false},
		// private
		{"10.0.0.1", true, false},
		{"10.255.255.255", true, false},
		{"172.16.0.1", true, false},
		{"172.31.255.255", true, false},
		{"192.168.1.1", true, false},
		{"::ffff:10.1.2.3", true, false},
		{"::ffff:192.168.0.1", true, false},
		{"fc00::1", true, false},
		{"fd12:3456::1", true, false},
		// CGNAT
		{"100.64.0.1", true, false},
		{"100.127.255.255", true, false},
		// link-local
		{"169.254.1.1", true, false},
		{"fe80::1", true, false},
		{"fe80::1%eth0", true, false},
		{"febf::1", true, false},
		// multicast and broadcast, reserved
		{"224.0.0.1", true, false},
		{"239.255.255.250", true, false},
		{"ff02::1", true, false},
		{"255.255.255.255", true, false},
		{"240.0.0.1", true, false},
		{"198.18.0.1", true, false},
		{"192.0.0.8", true, false},
		// documentation, benchmarking, deprecated relays, reserved IPv6
		{"192.0.2.2", true, false},
		{"198.51.100.7", true, false},
		{"203.0.113.255", true, false},
		{"198.19.255.255", true, false},
		{"192.88.99.1", true, false},
		{"2001:db8::1", true, false},
		{"3fff::1", true, false},
		{"2001:2::1", true, false},  // benchmarking
		{"2001:20::1", true, false}, // ORCHIDv2
		{"100::1", true, false},     // discard-only
		{"5f00::1", true, false},    // SRv6 SIDs
		{"4000::1", true, false},    // unassigned, outside 2000::/3
		{"::8.8.8.8", true, false},  // IPv4-compatible (deprecated)
		{"fec0::1", true, false},    // site-local
		{"::ffff:192.0.2.1", true, false},
		{"64:ff9b::c000:201", true, false},   // NAT64 of 192.0.2.1
		{"64:ff9b:1::808:808", false, false}, // local NAT64 of 8.8.8.8
		{"2001:4860:4860::8888", false, false},
		{"2620:4f:8000::1", false, false}, // AS112, global
		{"192.0.1.255", false, false},
		{"198.17.255.255", false, false},
		{"198.20.0.0", false, false},
		{"203.0.114.0", false, false},
		// embedded in NAT64 and 6to4
		{"64:ff9b::a00:1", true, false},   // 10.0.0.1
		{"64:ff9b::7f00:1", true, false},  // 127.0.0.1
		{"2002:c0a8:101::1", true, false}, // 192.168.1.1
		{"2001:0:4136:e378::1", true, false},
		// cloud metadata: always refused
		{"169.254.169.254", true, true},
		{"::ffff:169.254.169.254", true, true},
		{"::ffff:a9fe:a9fe", true, true},
		{"64:ff9b::a9fe:a9fe", true, true},
		{"fd00:ec2::254", true, true},
		{"100.100.100.200", true, true},
		{"169.254.170.2", true, true},
	}
	for _, tt := range tests {
		a := netip.MustParseAddr(tt.addr)
		for _, p := range []Policy{{}, {AllowPrivate: true}} {
			want := tt.strict
			if p.AllowPrivate {
				want = tt.always
			}
			err := p.CheckAddr(a)
			if (err != nil) != want {
				t.Errorf("%+v.CheckAddr(%s) = %v, want refused=%v", p, tt.addr, err, want)
			}
			if err != nil && !errors.Is(err, ErrRefused) {
				t.Errorf("CheckAddr(%s) error %v does not wrap ErrRefused", tt.addr, err)
			}
			// Control sees the same address as the dialer gives it.
			ap := netip.AddrPortFrom(a, 443).String()
			if cerr := p.Control("tcp", ap, nil); (cerr != nil) != want {
				t.Errorf("%+v.Control(tcp, %s) = %v, want refused=%v", p, ap, cerr, want)
			}
		}
	}
	if err := (Policy{AllowPrivate: true}).CheckAddr(netip.Addr{}); !errors.Is(err, ErrRefused) {
		t.Errorf("invalid address: %v", err)
	}
}

func TestControlNetworks(t *testing.T) {
	p := Policy{AllowPrivate: true}
	for _, tt := range []struct {
		network, address string
		ok               bool
	}{
		{"tcp", "127.0.0.1:80", true},
		{"tcp4", "127.0.0.1:80", true},
		{"tcp6", "[::1]:80", true},
		{"udp", "127.0.0.1:53", false},
		{"unix", "/tmp/sock", false},
		{"tcp", "localhost:80", false}, // never a name: Control runs after resolution
		{"tcp", "garbage", false},
	} {
		err := p.Control(tt.network, tt.address, nil)
		if (err == nil) != tt.ok {
			t.Errorf("Control(%s, %s) = %v, want ok=%v", tt.network, tt.address, err, tt.ok)
		}
	}
}

// The host's own addresses are refused without AllowPrivate, in any form
// the dialler may see them, and re-read once their reading is a minute
// old.
func TestOwnAddrs(t *testing.T) {
	addrs := []string{"8.8.4.4/32", "2606:4700::1/64"}
	now := time.Unix(1_700_000_000, 0)
	o := &OwnAddrs{
		list: func() ([]net.Addr, error) {
			var out []net.Addr
			for _, s := range addrs {
				ip, n, err := net.ParseCIDR(s)
				if err != nil {
					return nil, err
				}
				n.IP = ip
				out = append(out, n)
			}
			return out, nil
		},
		now: func() time.Time { return now },
	}
	strict, lax := Policy{Own: o}, Policy{AllowPrivate: true, Own: o}
	for _, tt := range []struct {
		addr string
		own  bool
	}{
		{"8.8.4.4", true},
		{"::ffff:8.8.4.4", true},
		{"64:ff9b::808:404", true}, // NAT64 of 8.8.4.4
		{"2606:4700::1", true},
		{"2606:4700::2", false}, // another address of the same network
		{"8.8.8.8", false},
	} {
		a := netip.MustParseAddr(tt.addr)
		if err := strict.CheckAddr(a); (err != nil) != tt.own {
			t.Errorf("CheckAddr(%s) = %v, want refused=%v", tt.addr, err, tt.own)
		}
		if err := lax.CheckAddr(a); err != nil {
			t.Errorf("with AllowPrivate, CheckAddr(%s) = %v", tt.addr, err)
		}
	}
	addrs = []string{"1.1.1.1/32"}
	now = now.Add(ownAddrsMaxAge)
	if strict.CheckAddr(netip.MustParseAddr("1.1.1.1")) == nil || strict.CheckAddr(netip.MustParseAddr("8.8.4.4")) != nil {
		t.Error("the addresses were not read again after a minute")
	}

	// The real interfaces include loopback's.
	if !NewOwnAddrs().Contains(netip.MustParseAddr("127.0.0.1")) {
		t.Error("NewOwnAddrs does not hold 127.0.0.1")
	}
}
