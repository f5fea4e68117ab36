package ldp

import (
	"errors"
	"strings"
)

// ErrBadPath is returned for a path that cannot name a resource.
var ErrBadPath = errors.New("invalid path")

// MaxPathLen bounds the length of a storage path.
const MaxPathLen = 1024

// CleanPath checks a decoded pod-relative path ("" or "a/b/" — no leading
// slash) and returns an error wrapping ErrBadPath when it has an empty, "."
// or ".." segment, a control character, a backslash or a NUL, or is too
// long. It never rewrites the path: a path is either valid as sent or
// refused.
func CleanPath(rel string) error {
	if len(rel) > MaxPathLen {
		return pathErr("path is longer than 1024 bytes")
	}
	if rel == "" {
		return nil
	}
	if strings.HasPrefix(rel, "/") {
		return pathErr("path has an empty segment (\"//\")")
	}
	segs := strings.Split(strings.TrimSuffix(rel, "/"), "/")
	for _, s := range segs {
		switch s {
		case "":
			return pathErr("path has an empty segment (\"//\")")
		case ".", "..":
			return pathErr("path segments \".\" and \"..\" are not allowed")
		}
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c == 0x7f || c == '\\' {
				return pathErr("path contains a control character or backslash")
			}
		}
	}
	return nil
}

func pathErr(msg string) error { return &pathError{msg} }

type pathError struct{ msg string }

func (e *pathError) Error() string   { return e.msg }
func (e *pathError) Is(t error) bool { return t == ErrBadPath }

// StoragePath returns the storage path of a pod-relative path.
func StoragePath(pod, rel string) string { return "/" + pod + "/" + rel }

// SplitStoragePath returns the pod name and pod-relative path of p.
func SplitStoragePath(p string) (pod, rel string) {
	p = strings.TrimPrefix(p, "/")
	pod, rel, _ = strings.Cut(p, "/")
	return pod, rel
}

// IsContainer reports whether p names a container.
func IsContainer(p string) bool { return strings.HasSuffix(p, "/") }

// IsRoot reports whether p is a pod root ("/{pod}/").
func IsRoot(p string) bool {
	_, rel := SplitStoragePath(p)
	return rel == "" && IsContainer(p)
}

// Parent returns the container holding p, or "" for a pod root.
func Parent(p string) string {
	if IsRoot(p) {
		return ""
	}
	t := strings.TrimSuffix(p, "/")
	i := strings.LastIndexByte(t, '/')
	return t[:i+1]
}

// Name returns the last segment of p, with a trailing "/" for a container.
func Name(p string) string {
	t := strings.TrimSuffix(p, "/")
	n := t[strings.LastIndexByte(t, '/')+1:]
	if IsContainer(p) {
		n += "/"
	}
	return n
}

// IsACL reports whether p is an access control document (".acl" or
// "name.acl").
func IsACL(p string) bool { return strings.HasSuffix(p, ".acl") && !IsContainer(p) }

// ACLPath returns the path of the ACL document for resource p ("p.acl", or
// "c/.acl" for a container c/).
func ACLPath(p string) string { return p + ".acl" }

// ACLSubject returns the resource an ACL document at p governs.
func ACLSubject(p string) string { return strings.TrimSuffix(p, ".acl") }

// IsAuxiliary reports whether p is an auxiliary resource, which containers
// do not list.
func IsAuxiliary(p string) bool { return IsACL(p) }
