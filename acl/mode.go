package acl

import "strings"

// Mode is a set of Web Access Control access modes.
type Mode uint8

// The access modes. Write implies Append: a request that needs Append is
// satisfied by Write (see Grants).
const (
	Read Mode = 1 << iota
	Write
	Append
	Control
)

// String returns the modes in m as space-separated lower-case names in the
// order read, write, append, control, e.g. "read write"; "" when m is empty.
// It lists the modes as they are: call Implied first to add Append for Write.
func (m Mode) String() string {
	names := [...]struct {
		m    Mode
		name string
	}{{Read, "read"}, {Write, "write"}, {Append, "append"}, {Control, "control"}}
	var b strings.Builder
	for _, n := range names {
		if m&n.m != 0 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(n.name)
		}
	}
	return b.String()
}

// Implied returns m with the modes it implies added (Append when m has
// Write).
func (m Mode) Implied() Mode {
	if m&Write != 0 {
		m |= Append
	}
	return m
}

// Grants reports whether m, with the modes it implies, includes every mode
// in need.
func (m Mode) Grants(need Mode) bool {
	return m.Implied()&need == need
}

// WACAllow returns the value of the WAC-Allow response header for the modes
// of the requesting agent (user) and of anonymous agents (public), e.g.
// `user="read write append control",public="read"`. Implied modes are
// listed.
func WACAllow(user, public Mode) string {
	return `user="` + user.Implied().String() + `",public="` + public.Implied().String() + `"`
}
