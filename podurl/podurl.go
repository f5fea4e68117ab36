// Package podurl holds how pods are named: which names can name a pod and
// which the server keeps for its own paths (ValidName, Reserved), and the
// Scheme value that maps between pods and the URLs of one server (base URL
// and naming mode). It is the one home of both; ldp, acl, publish, inbox,
// outbox, notify and pod all ask it, and the Scheme is built once by pod
// and passed down.
//
// This package imports no other podserver package.
package podurl

// MaxNameLen is the longest pod name: one DNS label, so that subdomain
// naming (http://{pod}.HOST/) works for every pod.
const MaxNameLen = 63

// reserved are top-level paths the server serves itself (path naming:
// http://HOST/{pod}/), so no pod may take them, in either naming mode.
var reserved = map[string]bool{
	"healthz": true, "metrics": true, "console": true, "ns": true, "api": true, "admin": true, "static": true,
}

// Reserved reports whether name is a top-level path of the server itself.
func Reserved(name string) bool { return reserved[name] }

// ValidName reports whether name can name a pod (DESIGN section 1): 1 to 63
// characters of a-z, 0-9 and '-', starting with a letter or digit, and not
// a reserved name.
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > MaxNameLen || reserved[name] {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && i > 0:
		default:
			return false
		}
	}
	return true
}
