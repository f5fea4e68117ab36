package ldp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"podserver/store"
)

// Errors of resource operations. Handlers map them to HTTP statuses.
var (
	// ErrNotFound: the resource does not exist.
	ErrNotFound = errors.New("resource not found")
	// ErrPrecondition: If-Match or If-None-Match failed.
	ErrPrecondition = errors.New("precondition failed")
	// ErrNotEmpty: a container with members cannot be deleted.
	ErrNotEmpty = errors.New("container is not empty")
	// ErrConflict: the write conflicts with what is stored (see the message).
	ErrConflict = errors.New("conflict")
)

// ConflictError explains an ErrConflict.
type ConflictError struct{ Msg string }

func (e *ConflictError) Error() string   { return e.Msg }
func (e *ConflictError) Is(t error) bool { return t == ErrConflict }

func conflict(format string, args ...any) error {
	return &ConflictError{Msg: fmt.Sprintf(format, args...)}
}

// Resource is a stored resource.
type Resource struct {
	Path string
	Meta Meta
	// Body is the stored representation; empty for a container.
	Body []byte
}

// Preconditions are the conditional request headers of a write or read.
type Preconditions struct {
	IfMatch, IfNoneMatch string
}

// Check evaluates the preconditions against the current state (RFC 9110
// section 13.2.2, for state-changing methods): If-Match fails when the
// resource is absent or no listed tag equals etag; If-None-Match fails when
// it is present and "*" or a listed tag equals etag.
func (pc Preconditions) Check(exists bool, etag string) error {
	if pc.IfMatch != "" {
		if !exists || !etagListMatch(pc.IfMatch, etag, true) {
			return ErrPrecondition
		}
	}
	if pc.IfNoneMatch != "" && exists && etagListMatch(pc.IfNoneMatch, etag, true) {
		return ErrPrecondition
	}
	return nil
}

// etagListMatch reports whether header ("*" or a comma-separated list of
// entity tags) matches etag. Weak tags compare weakly, as If-None-Match asks.
// For writes (anyVersion), the tag of a converted representation ("v-ttl")
// names the same stored version as the stored one ("v"), so either matches;
// reads compare the representation's own tag.
func etagListMatch(header, etag string, anyVersion bool) bool {
	norm := func(t string) string { return t }
	if anyVersion {
		norm = versionTag
	}
	etag = norm(etag)
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || norm(strings.TrimPrefix(t, "W/")) == etag {
			return true
		}
	}
	return false
}

// versionTag strips the representation suffixes from an entity tag: a
// conversion ("-ttl", ...) of a redacted variant ("-r", see Hooks.Redact).
func versionTag(tag string) string {
	for _, suf := range []string{"-ttl", "-nt", "-nq", "-jsonld"} {
		if strings.HasSuffix(tag, suf+`"`) {
			tag = strings.TrimSuffix(tag, suf+`"`) + `"`
			break
		}
	}
	if strings.HasSuffix(tag, `-r"`) {
		tag = strings.TrimSuffix(tag, `-r"`) + `"`
	}
	return tag
}

// Repo reads and writes resources in a store.
type Repo struct {
	st  store.Store
	now func() time.Time
}

// NewRepo returns a Repo over st.
func NewRepo(st store.Store) *Repo { return &Repo{st: st, now: time.Now} }

// Store returns the underlying store, for callers that combine resource
// writes with their own in one transaction.
func (r *Repo) Store() store.Store { return r.st }

// Now returns the current time as the repo sees it.
func (r *Repo) Now() time.Time { return r.now().UTC() }

// Get reads the resource at p.
func (r *Repo) Get(ctx context.Context, p string) (*Resource, error) {
	var res *Resource
	err := r.st.View(ctx, func(rd store.Reader) error {
		var err error
		res, err = Get(rd, p)
		return err
	})
	return res, err
}

// Get reads the resource at p within a transaction (resolving a shared
// body: see AppendSeqMemberShared).
func Get(rd store.Reader, p string) (*Resource, error) {
	res, ref, err := getRecord(rd, p)
	if err != nil || ref == nil {
		return res, err
	}
	if res.Body, err = resolveBody(rd, ref); err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return res, nil
}

// getRecord reads the record at p: the resource, without its body when
// the record references a shared body, and that reference.
func getRecord(rd store.Reader, p string) (*Resource, []byte, error) {
	v, err := rd.Get(resourceKey(p))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", p, err)
	}
	m, body, ref, err := decodeRecord(v)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", p, err)
	}
	return &Resource{Path: p, Meta: m, Body: body}, ref, nil
}

// Exists reports whether p exists.
func Exists(rd store.Reader, p string) (bool, error) {
	_, err := rd.Get(resourceKey(p))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// twin returns the other slash form of p ("/a/x" for "/a/x/" and back).
func twin(p string) string {
	if IsContainer(p) {
		return strings.TrimSuffix(p, "/")
	}
	return p + "/"
}

// CreateRoot creates a pod root container. It fails with ErrConflict if it
// exists.
func CreateRoot(tx store.Txn, root string, now time.Time) error {
	if !IsRoot(root) {
		return fmt.Errorf("%q is not a pod root", root)
	}
	ok, err := Exists(tx, root)
	if err != nil {
		return err
	}
	if ok {
		return conflict("pod %s already exists", root)
	}
	v := tx.NextSeq()
	return tx.Set(resourceKey(root), encodeRecord(Meta{Version: v, Created: now, Modified: now}, nil))
}

// Put creates or replaces the resource at p with the given media type and
// body, creating missing intermediate containers. A container path creates
// the container (body must be empty). It returns whether p was created.
func Put(tx store.Txn, p, contentType string, body []byte, now time.Time, pc Preconditions) (created bool, m Meta, err error) {
	old, oldRef, err := getRecord(tx, p)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, m, err
	}
	exists := old != nil
	etag := ""
	if exists {
		etag = old.Meta.ETag()
	}
	if err := pc.Check(exists, etag); err != nil {
		return false, m, err
	}
	if IsContainer(p) {
		if len(body) > 0 {
			return false, m, conflict("a container's representation is managed by the server: PUT to a container takes no body")
		}
		if exists {
			return false, old.Meta, nil
		}
	}
	if !exists {
		if ok, err := Exists(tx, twin(p)); err != nil {
			return false, m, err
		} else if ok {
			return false, m, conflict("%s exists: a resource and a container cannot share a name", twin(p))
		}
		if err := ensureContainers(tx, Parent(p), now); err != nil {
			return false, m, err
		}
	}
	v := tx.NextSeq()
	m = Meta{ContentType: contentType, Version: v, Created: now, Modified: now}
	if exists {
		m.Created, m.Member = old.Meta.Created, old.Meta.Member
	} else if !IsAuxiliary(p) {
		m.Member = v
		if err := tx.Set(memberKey(Parent(p), v), []byte(p)); err != nil {
			return false, m, err
		}
	}
	if IsContainer(p) {
		m.ContentType = ""
	}
	if oldRef != nil {
		if err := releaseBody(tx, oldRef); err != nil {
			return false, m, fmt.Errorf("replace %s: %w", p, err)
		}
	}
	m.Size = int64(len(body))
	return !exists, m, tx.Set(resourceKey(p), encodeRecord(m, body))
}

// ensureContainers creates container c and its missing ancestors. It stops
// at the pod root, which must exist.
func ensureContainers(tx store.Txn, c string, now time.Time) error {
	if c == "" {
		return nil
	}
	ok, err := Exists(tx, c)
	if err != nil || ok {
		return err
	}
	if IsRoot(c) {
		return ErrNotFound
	}
	if ok, err := Exists(tx, twin(c)); err != nil {
		return err
	} else if ok {
		return conflict("%s is a resource, so it cannot be a container", twin(c))
	}
	if err := ensureContainers(tx, Parent(c), now); err != nil {
		return err
	}
	v := tx.NextSeq()
	if err := tx.Set(memberKey(Parent(c), v), []byte(c)); err != nil {
		return err
	}
	return tx.Set(resourceKey(c), encodeRecord(Meta{Version: v, Created: now, Modified: now, Member: v}, nil))
}

// Create adds a new member to container c, named from slug when it is free
// (a fresh UUIDv7 otherwise, or with a suffix when slug is taken), and
// returns its path. The container must exist.
func Create(tx store.Txn, c, slug string, container bool, contentType string, body []byte, now time.Time) (string, Meta, error) {
	if ok, err := Exists(tx, c); err != nil {
		return "", Meta{}, err
	} else if !ok {
		return "", Meta{}, ErrNotFound
	}
	name := SanitizeSlug(slug)
	var p string
	for try := 0; ; try++ {
		switch {
		case name == "":
			p = c + NewID()
		case try == 0:
			p = c + name
		default:
			p = c + name + "-" + NewID()[24:]
		}
		if container {
			p += "/"
		}
		if IsAuxiliary(p) {
			// Posting needs Append on c; an auxiliary resource (an ACL
			// document) needs Control of its subject. SanitizeSlug never
			// yields such a name; this holds whatever it becomes.
			return "", Meta{}, fmt.Errorf("ldp: create %q: an auxiliary resource's name", p)
		}
		a, err := Exists(tx, p)
		if err != nil {
			return "", Meta{}, err
		}
		b, err := Exists(tx, twin(p))
		if err != nil {
			return "", Meta{}, err
		}
		if !a && !b {
			break
		}
		if try > 3 {
			return "", Meta{}, conflict("could not find a free name for %q", slug)
		}
	}
	if container {
		body, contentType = nil, ""
	}
	_, m, err := Put(tx, p, contentType, body, now, Preconditions{})
	return p, m, err
}

// NewID returns a new time-ordered identifier (a UUIDv7 without dashes).
func NewID() string {
	u, err := uuid.NewV7()
	if err != nil {
		u = uuid.New()
	}
	return strings.ReplaceAll(u.String(), "-", "")
}

// maxSlugLen bounds the bytes of a name taken from a Slug.
const maxSlugLen = 128

// SanitizeSlug turns a Slug header into a single path segment, or "" when
// nothing usable is left. A Slug is percent-encoded UTF-8 (RFC 5023); it is
// decoded once, and a value that is not valid percent-encoding is taken as
// it is. Letters, digits, marks, punctuation, symbols and spaces of any
// script stay (the URLs the server hands out escape them, see Target.URL);
// "/" and "\", control and format characters (bidi overrides among them),
// invalid UTF-8 and U+FFFD are dropped, then leading and trailing dots and
// spaces, so no name is "." or "..". At most maxSlugLen bytes are kept.
//
// No name is an auxiliary resource's: every trailing ".acl" goes, so that
// "x.acl.acl" does not become "x.acl", the ACL document of x, which only
// Control may write (Create refuses such a name whatever the slug).
func SanitizeSlug(slug string) string {
	if d, err := url.PathUnescape(slug); err == nil {
		slug = d
	}
	var b strings.Builder
	for _, r := range slug {
		if r == '/' || r == '\\' || r == utf8.RuneError || !unicode.IsGraphic(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > maxSlugLen {
			break
		}
		b.WriteRune(r)
	}
	s := strings.Trim(b.String(), ". ")
	for strings.HasSuffix(s, ".acl") {
		s = strings.TrimRight(strings.TrimSuffix(s, ".acl"), ". ")
	}
	return s
}

// Delete removes the resource at p and its ACL document (and its reference
// to a shared body, the body with the last reference). Deleting a
// container with members fails with ErrNotEmpty.
func Delete(tx store.Txn, p string, pc Preconditions) error {
	old, ref, err := getRecord(tx, p)
	if errors.Is(err, ErrNotFound) {
		if pc.IfMatch != "" {
			return ErrPrecondition
		}
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if err := pc.Check(true, old.Meta.ETag()); err != nil {
		return err
	}
	if IsContainer(p) {
		empty := true
		stop := func(_, _ []byte) error {
			empty = false
			return store.ErrStop
		}
		if err := tx.Scan(memberPrefix(p), nil, false, stop); err != nil {
			return err
		}
		if empty {
			// Members appended with AppendSeqMember have no membership key.
			if err := ScanChildrenMeta(tx, p, "", func(string, Meta) error { return stop(nil, nil) }); err != nil {
				return err
			}
		}
		if !empty {
			return ErrNotEmpty
		}
	}
	if old.Meta.Member != 0 {
		if err := tx.Delete(memberKey(Parent(p), old.Meta.Member)); err != nil {
			return err
		}
	}
	if !IsAuxiliary(p) {
		if err := tx.Delete(resourceKey(ACLPath(p))); err != nil {
			return err
		}
	}
	if ref != nil {
		if err := releaseBody(tx, ref); err != nil {
			return fmt.Errorf("delete %s: %w", p, err)
		}
	}
	return tx.Delete(resourceKey(p))
}

// Member is one entry of a container listing.
type Member struct {
	// Path is the member's storage path.
	Path string
	// Seq is the member's position; listing from Seq+1 continues after it.
	Seq uint64
}

// List returns up to limit members of container c in creation order,
// starting at seq from (0 = the beginning), and the seq to continue from
// (0 when there are no more). A cursor stays valid when members before or
// at it are deleted.
func List(rd store.Reader, c string, from uint64, limit int) ([]Member, uint64, error) {
	return listMembers(rd, c, from, limit, false)
}

func listMembers(rd store.Reader, c string, from uint64, limit int, reverse bool) ([]Member, uint64, error) {
	prefix := memberPrefix(c)
	var start []byte
	if from > 0 {
		start = store.AppendUint64(append([]byte(nil), prefix...), from)
	}
	var out []Member
	var next uint64
	err := rd.Scan(prefix, start, reverse, func(k, v []byte) error {
		seq := store.Uint64(k[len(prefix):])
		if len(out) == limit {
			next = seq
			return store.ErrStop
		}
		out = append(out, Member{Path: string(v), Seq: seq})
		return nil
	})
	return out, next, err
}
