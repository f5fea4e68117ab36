package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/apierr"
	"podserver/deliver"
	"podserver/inbox"
	"podserver/ldp"
	"podserver/podurl"
	"podserver/store"
)

// Config configures a Service.
type Config struct {
	Store store.Store
	// URLs maps between the server's pods and their URLs.
	URLs    podurl.Scheme
	Inboxes *inbox.Inboxes
	Queue   *deliver.Queue
	Logger  *slog.Logger
	// MaxBodyBytes bounds a publish body (default 10 MiB).
	MaxBodyBytes int64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Remote enables delivery to WebIDs on other servers (deliver.KindLDN
	// records, carried out by the handler the server registers with
	// Queue). When false, such recipients and sources are refused with
	// MsgNotLocal and remote subscribers are skipped.
	Remote bool
	// Client makes webhook requests (with Remote); it should come from
	// netguard.NewClient.
	Client *http.Client
	// Watch, if set, reports settings changes, so that publishing reads a
	// pod's settings documents only after they change. Without it every
	// publish reads them to check their versions.
	Watch *store.Watch
	// FanoutThreshold is the most subscriber inboxes an event's copies
	// are written to in the publish's own transaction (default
	// DefaultFanoutThreshold; negative: no bound). Past it they are
	// written after the answer by a fan-out job (fanout.go).
	FanoutThreshold int
	// FanoutBatch is the copies a fan-out job writes per transaction
	// (default DefaultFanoutBatch).
	FanoutBatch int
	// FanoutLag is how long after its publish a fan-out job's batches
	// yield to publishes; after it, and by default (0), they queue with
	// publishes in arrival order (fanoutPolicy).
	FanoutLag time.Duration
	// FanoutMaxPending bounds the copies fan-out jobs have yet to write in
	// the whole store: a publish that would queue more waits for the
	// backlog to fall, and after fanoutAdmitWait is refused with 503 and
	// Retry-After (fanoutbacklog.go). 0: DefaultFanoutMaxPending;
	// negative: no bound.
	FanoutMaxPending int
	// OnFanoutWritten, if set, is called after each fan-out batch this
	// node commits, with the copies it wrote, whether it was its job's
	// last, and the time since the event's publish (for metrics).
	OnFanoutWritten func(copies int, last bool, sincePublish time.Duration)
	// OnBacklogFull, if set, is called for each publish refused because
	// the fan-out backlog is full.
	OnBacklogFull func()
	// Inboxes' ACLs, when set, decide which local inboxes an event is
	// copied to: a party's inbox must let the publisher append (else the
	// publish is refused with MsgInboxRefused, 403) and a subscriber's
	// inbox must let the pod whose settings route the copy append (else
	// that subscriber is skipped), as a server receiving the copy over
	// LDN would check its signer. Nil: every local inbox accepts.
	InboxACL InboxACL
}

// InboxACL decides whether an agent may append to a local inbox under the
// inbox's ACL.
type InboxACL interface {
	// Generation advances whenever an ACL document is written or deleted:
	// a decision made under one generation holds while it is current.
	Generation() uint64
	// MayAppend reports whether agent (a WebID) may append to the inbox
	// at storage path inboxPath, reading what it must through rd, the
	// caller's open read (a second read of a store whose connections the
	// callers hold could wait for ever).
	MayAppend(ctx context.Context, rd store.Reader, inboxPath, agent string) (bool, error)
}

// Service publishes events: POST <pod>/publish/, and the local deliveries
// the delivery queue hands back to it.
type Service struct {
	cfg      Config
	settings *settingsCache
	bufs     sync.Pool
	jobs     jobWaits
	backlog  backlog
}

// New returns a Service and registers its local delivery with cfg.Queue.
func New(cfg Config) *Service {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 10 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.FanoutThreshold == 0 {
		cfg.FanoutThreshold = DefaultFanoutThreshold
	}
	if cfg.FanoutBatch <= 0 {
		cfg.FanoutBatch = DefaultFanoutBatch
	}
	if cfg.FanoutMaxPending == 0 {
		cfg.FanoutMaxPending = DefaultFanoutMaxPending
	}
	s := &Service{cfg: cfg, settings: newSettingsCache(cfg.URLs, cfg.Logger, cfg.Watch)}
	s.bufs.New = func() any { return new(bytes.Buffer) }
	cfg.Queue.HandleLocal(deliver.KindInbox, s.deliverLocal)
	cfg.Queue.HandleLocal(deliver.KindFanout, s.fanoutBatch)
	cfg.Queue.SetPolicy(deliver.KindFanout, s.jobPolicy())
	if cfg.Remote && cfg.Client != nil {
		cfg.Queue.HandleRemote(deliver.KindWebhook, s.deliverWebhook)
	} else {
		s.cfg.Remote = false
	}
	return s
}

// Key layout (prefix owned by this package, see store/keyspace.go):
//
//	store.PrefixEventID + pod + 0x00 + client id -> event path + 0x00 + sha256 of the event's compacted JSON
//
// written with the event, only for events with a client id, so a retry
// finds the event and tells a safe retry from a conflicting reuse of the id.
func eventIDKey(pod, id string) []byte {
	k := make([]byte, 0, len(store.PrefixEventID)+len(pod)+1+len(id))
	k = append(k, store.PrefixEventID...)
	k = append(k, pod...)
	k = append(k, 0)
	return append(k, id...)
}

// planned is an event ready to be written.
type planned struct {
	ev      *Event
	id      string // resource name in publish/
	url     string // the event's id
	path    string // storage path
	body    []byte // stored JSON
	hash    [sha256.Size]byte
	due     time.Time
	targets []Target // local inboxes (KindInbox), recipient's first
	subs    int      // how many of targets are subscribers' (Via set)
	missing []Target // subscribers' inboxes that do not exist
	remote  []Target // WebIDs on other servers (KindLDN, Config.Remote)
	hooks   []Target // webhooks (KindWebhook, Config.Remote)

	existing bool // a retry of a stored event
	results  []delivery
	records  []deliver.Record

	// job is the fan-out job writing the subscriber copies after the
	// answer (fanout.go; Seq 0: none); queued the copies it has yet to
	// write; failed that it failed for good (fanoutdead.go).
	job    deliver.Record
	queued int
	failed bool
	// waiter waits for job with ?wait.
	waiter *jobWait
}

// delivery is the per-target outcome reported with ?wait.
type delivery struct {
	target, status, err string
	remote              bool   // target is a WebID on another server
	seq                 uint64 // the delivery record's Seq, when queued
	// forwarded: another pod's settings routed it (Target.Owner), so it
	// is that pod's delivery: ?wait waits for it but reports it only in
	// that pod's outbox, never to the publisher.
	forwarded bool

	// resp is the target's answer to the first attempt, if it answered.
	resp *deliver.Result
}

// Delivery statuses in ?wait answers.
const (
	statusDelivered = "delivered"
	statusDuplicate = "duplicate" // the inbox already held this event
	statusFailed    = "failed"
	statusPending   = "pending"
)

// Publish serves POST <pod>/publish/ (DESIGN section 4).
func (s *Service) Publish(c *gin.Context, r *ldp.Request) error {
	ctx := c.Request.Context()
	pr := r.Principal
	if pr.Anonymous() {
		return errNoKey
	}
	if pr.Pod != r.Target.Pod {
		return errForeignKey
	}
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := ldp.ParseContentType(ct)
		if err != nil || (mt != ldp.MediaJSON && mt != ldp.MediaJSONLD) {
			return errMediaType
		}
	}
	var wait time.Duration
	if v := c.Query("wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 60 {
			return errWait
		}
		wait = time.Duration(n) * time.Second
	}
	body, err := ldp.ReadBody(c, s.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	pod := r.Target.Pod
	root := r.Target.Root
	agent := s.cfg.URLs.WebID(pod)

	var evs []Event
	var array bool
	var plan []planned
	err = s.view(ctx, func(rd snap) error {
		lim, err := s.settings.limitsOf(rd, pod)
		if err != nil {
			return err
		}
		if evs, array, err = Decode(body, lim, root+"publish/", now); err != nil {
			return err
		}
		if ok, err := s.settings.exists(rd, ldp.StoragePath(pod, "publish/")); err != nil || !ok {
			if err == nil {
				err = errors.New("the pod has no publish/ container")
			}
			return err
		}
		plan = make([]planned, len(evs))
		for i := range evs {
			if err := s.route(ctx, rd, &evs[i], &plan[i], agent, i, array); err != nil {
				return err
			}
		}
		return nil
	})
	var be *bodyError
	if errors.As(err, &be) {
		return apierr.New(http.StatusBadRequest, be.Error())
	}
	if err != nil {
		return err
	}
	for i := range plan {
		p := &plan[i]
		p.ev = &evs[i]
		p.id = p.ev.ClientID
		if p.id == "" {
			p.id = ldp.NewID()
		} else {
			p.hash = p.ev.hash()
		}
		p.url = root + "publish/" + p.id
		p.path = ldp.StoragePath(pod, "publish/"+p.id)
		p.body = p.ev.appendStored(make([]byte, 0, len(p.ev.Raw)+len(p.url)*2+len(agent)+96), p.url, agent, pr.App, now)
		p.due = p.ev.Due(now)
		if wait > 0 && s.fansOut(p, now) {
			p.waiter = s.jobs.add(p.path)
		}
	}
	defer func() {
		for i := range plan {
			if w := plan[i].waiter; w != nil {
				s.jobs.remove(plan[i].path, w)
			}
		}
	}()
	if err := s.admitFanout(ctx, s.fanoutCopies(plan, now)); err != nil {
		return err
	}
	created := false
	err = s.cfg.Store.Update(ctx, func(tx store.Txn) error {
		created = false
		for i := range plan {
			c, err := s.write(tx, pod, &plan[i], now)
			if err != nil {
				var ce conflictError
				if errors.As(err, &ce) && array {
					return conflictError{fmt.Sprintf("events[%d]: %s", i, ce.msg)}
				}
				return err
			}
			created = created || c
		}
		return nil
	})
	var ce conflictError
	if errors.As(err, &ce) {
		return apierr.New(http.StatusConflict, ce.msg)
	}
	if err != nil {
		return err
	}
	if wait > 0 {
		s.awaitDelayed(ctx, plan, wait)
	}
	return s.respond(c, pod, plan, array, created, wait > 0)
}

// view runs fn on a read snapshot, stamped with the settings generation
// loaded before the snapshot was taken (see settings.go).
func (s *Service) view(ctx context.Context, fn func(rd snap) error) error {
	gen := s.settings.generation()
	return s.cfg.Store.View(ctx, func(rd store.Reader) error { return fn(snap{rd, gen}) })
}

// route authorizes ev against its recipient's and source's settings and
// sorts its targets into p: local inboxes (or missing ones), WebIDs on other
// servers and webhooks.
func (s *Service) route(ctx context.Context, rd snap, ev *Event, p *planned, agent string, i int, array bool) error {
	idx := -1
	if array {
		idx = i
	}
	ts, err := s.targets(ctx, rd, ev.Recipient, ev.Source, ev.Topic, agent, func(msg string) error {
		return &bodyError{idx, msg}
	})
	if err != nil {
		return err
	}
	p.targets = slices.Grow(p.targets, len(ts))
	for _, t := range ts {
		switch t.Kind {
		case deliver.KindInbox:
			ok, err := s.settings.exists(rd, t.Target)
			if err != nil {
				return err
			}
			if ok {
				p.targets = append(p.targets, t)
				if t.Via != "" {
					p.subs++
				}
			} else {
				p.missing = append(p.missing, t)
			}
		case deliver.KindLDN:
			p.remote = append(p.remote, t)
		case deliver.KindWebhook:
			p.hooks = append(p.hooks, t)
		}
	}
	return nil
}

// isRemote reports whether webID may be delivered to on another server:
// remote delivery is on and the URL is not in a pod of this server.
func (s *Service) isRemote(webID string) bool {
	if !s.cfg.Remote {
		return false
	}
	_, _, local := s.cfg.URLs.PodOfURL(webID)
	return !local
}

// conflictError is a 409.
type conflictError struct{ msg string }

func (e conflictError) Error() string { return e.msg }

// write stores one planned event in tx: the event resource, its idempotency
// key and its copies (or, when it is held back, its delivery records). It
// reports whether it created the event (false for a safe retry).
func (s *Service) write(tx store.Txn, pod string, p *planned, now time.Time) (bool, error) {
	p.existing, p.results, p.records = false, p.results[:0], p.records[:0]
	p.job, p.queued = deliver.Record{}, 0
	var ek []byte
	if p.ev.ClientID != "" {
		ek = eventIDKey(pod, p.id)
		v, err := tx.Get(ek)
		switch {
		case err == nil:
			if len(v) < sha256.Size || !bytes.Equal(v[len(v)-sha256.Size:], p.hash[:]) {
				return false, conflictError{fmt.Sprintf(MsgConflict, p.ev.ClientID)}
			}
			p.existing = true
			return false, nil
		case !errors.Is(err, store.ErrNotFound):
			return false, err
		}
		if ok, err := ldp.Exists(tx, p.path); err != nil {
			return false, err
		} else if ok {
			return false, conflictError{fmt.Sprintf(MsgConflict, p.ev.ClientID)}
		}
	}
	// The pod's publish/ exists: route checked it, and it cannot be deleted.
	container := ldp.StoragePath(pod, "publish/")
	// The event's body is stored once, for the event resource and every
	// copy: the resource references it as its copies do.
	var body *ldp.SharedBody
	if p.ev.ClientID == "" {
		body = ldp.NewFreshSharedBody(p.body) // holds the id just made
	} else {
		body = ldp.NewSharedBody(p.body)
	}
	if _, _, err := ldp.AppendMemberShared(tx, container, p.id, tx.NextSeq(), ldp.MediaJSONLD, body, now); err != nil {
		return false, err
	}
	if ek != nil {
		v := make([]byte, 0, len(p.path)+1+sha256.Size)
		v = append(append(append(v, p.path...), 0), p.hash[:]...)
		if err := tx.Set(ek, v); err != nil {
			return false, err
		}
	}
	// Each record is owned by the pod whose settings caused it (Target.Owner):
	// the publisher's for the recipient and source, the party's for its
	// subscribers and webhooks, so it is listed, retried and replayed in
	// that pod's outbox/.
	enqueue := func(t Target, remote bool) error {
		rec, err := s.cfg.Queue.Enqueue(tx, deliver.Record{
			Kind: t.Kind, Pod: t.Owner(pod), Event: p.path, EventID: p.url, Target: t.Target, Via: t.Via, Created: now, Due: p.due,
		})
		if err != nil {
			return err
		}
		p.records = append(p.records, rec)
		p.results = append(p.results, delivery{target: t.Target, status: statusPending, remote: remote, seq: rec.Seq, forwarded: t.Owner(pod) != pod})
		return nil
	}
	if p.due.After(now) {
		for _, t := range p.targets {
			if err := enqueue(t, false); err != nil {
				return false, err
			}
		}
	} else if len(p.targets) > 0 {
		direct := p.targets
		if s.fansOut(p, now) {
			var subs []Target
			direct, subs = splitSubscribers(p.targets)
			if err := s.queueFanout(tx, pod, p, subs, now); err != nil {
				return false, err
			}
		}
		copies := make([]inbox.Copy, len(direct))
		for i, t := range direct {
			copies[i] = inbox.Copy{Inbox: t.Target, EventID: p.url, Body: p.body, Shared: body, NewEvent: p.ev.ClientID == "", InboxExists: true}
		}
		res, err := s.cfg.Inboxes.AppendAll(tx, copies, now)
		if err != nil {
			return false, err
		}
		for i, t := range direct {
			status := statusDelivered
			if !res[i].Added {
				status = statusDuplicate
			}
			p.results = append(p.results, delivery{target: t.Target, status: status, forwarded: t.Owner(pod) != pod})
		}
	}
	for _, t := range p.remote {
		if err := enqueue(t, true); err != nil {
			return false, err
		}
	}
	for _, t := range p.hooks {
		if err := enqueue(t, true); err != nil {
			return false, err
		}
	}
	return true, nil
}

// awaitDelayed waits, up to wait, for the first attempt of every held-back
// delivery, and records the outcomes.
func (s *Service) awaitDelayed(ctx context.Context, plan []planned, wait time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for i := range plan {
		p := &plan[i]
		if p.queued > 0 && p.waiter != nil {
			s.awaitJob(ctx, p)
		}
		for _, rec := range p.records {
			res := s.cfg.Queue.Wait(ctx, rec)
			var d *delivery
			for j := range p.results {
				if p.results[j].seq == rec.Seq {
					d = &p.results[j]
				}
			}
			if d == nil {
				continue
			}
			switch res.Status {
			case deliver.StatusDelivered:
				d.status = statusDelivered
			case deliver.StatusDead:
				d.status, d.err = statusFailed, res.Error
			default:
				d.status, d.err = statusPending, res.Error
			}
			if res.ResponseStatus != 0 {
				d.resp = &res
			}
		}
	}
}

// respond writes 201 (or 200 when every event was a retry) with Location
// and the event ids: {"id": URL} for an object body; {"id": first URL,
// "ids": [URL, ...]} for an array. With ?wait, each event's per-target
// results are added: "deliveries" for an object body, "events" for an
// array.
func (s *Service) respond(c *gin.Context, pod string, plan []planned, array, created, waited bool) error {
	buf := s.bufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 {
			buf.Reset()
			s.bufs.Put(buf)
		}
	}()
	b := buf.AvailableBuffer()
	b = append(b, `{"id":`...)
	b = inbox.AppendJSONString(b, plan[0].url)
	if array {
		b = append(b, `,"ids":[`...)
		for i := range plan {
			if i > 0 {
				b = append(b, ',')
			}
			b = inbox.AppendJSONString(b, plan[i].url)
		}
		b = append(b, ']')
	}
	// "copies" only when a fan-out job took some: a smaller fan-out is
	// written before the answer, which stays as it was.
	queued, jobs, failed := 0, false, 0
	for i := range plan {
		if plan[i].failed {
			failed += plan[i].queued
		} else {
			queued += plan[i].queued
		}
		jobs = jobs || plan[i].job.Seq != 0
	}
	switch {
	case failed > 0:
		b = append(b, `,"copies":{"status":"failed","failed":`...)
		b = strconv.AppendInt(b, int64(failed), 10)
		if queued > 0 {
			b = append(b, `,"queued":`...)
			b = strconv.AppendInt(b, int64(queued), 10)
		}
		b = append(b, '}')
	case queued > 0:
		b = append(b, `,"copies":{"status":"queued","queued":`...)
		b = strconv.AppendInt(b, int64(queued), 10)
		b = append(b, '}')
	case jobs:
		b = append(b, `,"copies":{"status":"done"}`...)
	}
	if waited {
		if array {
			b = append(b, `,"events":[`...)
			for i := range plan {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"id":`...)
				b = inbox.AppendJSONString(b, plan[i].url)
				b = s.appendDeliveries(b, pod, &plan[i])
				b = append(b, '}')
			}
			b = append(b, ']')
		} else {
			b = s.appendDeliveries(b, pod, &plan[0])
		}
	}
	b = append(b, "}\n"...)
	buf.Write(b)
	h := c.Writer.Header()
	h.Set("Location", plan[0].url)
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	c.Status(status)
	_, _ = c.Writer.Write(buf.Bytes())
	return nil
}

// appendDeliveries appends the "deliveries" of p that pod, the publisher,
// owns: the recipient's and source's. Deliveries that a party's settings
// routed (its subscribers and webhooks) are that party's business: they
// are listed in its outbox/, not here.
func (s *Service) appendDeliveries(b []byte, pod string, p *planned) []byte {
	b = append(b, `,"deliveries":[`...)
	if p.existing {
		// A retry: the first request delivered it.
		return append(b, ']')
	}
	results := p.results
	for _, t := range p.missing {
		results = append(results, delivery{target: t.Target, status: statusFailed, err: "the pod does not exist", forwarded: t.Owner(pod) != pod})
	}
	first := true
	for _, d := range results {
		if d.forwarded {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"target":`...)
		if d.remote {
			b = inbox.AppendJSONString(b, d.target)
		} else {
			pod, _ := ldp.SplitStoragePath(d.target)
			b = inbox.AppendJSONString(b, s.cfg.URLs.PodRoot(pod)+"inbox/")
		}
		b = append(b, `,"status":`...)
		b = inbox.AppendJSONString(b, d.status)
		if d.err != "" {
			b = append(b, `,"error":`...)
			b = inbox.AppendJSONString(b, d.err)
		}
		if d.resp != nil {
			b = appendResponse(b, d.resp)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// deliverLocal is the delivery queue's handler for local inboxes: it copies
// the stored event into the target inbox (once per event id).
func (s *Service) deliverLocal(tx store.Txn, r deliver.Record, now time.Time) error {
	body, err := ldp.GetShared(tx, r.Event)
	if errors.Is(err, ldp.ErrNotFound) {
		return fmt.Errorf("the event %s was deleted before delivery", r.EventID)
	}
	if err != nil {
		return err
	}
	if _, _, err := s.cfg.Inboxes.Append(tx, inbox.Copy{Inbox: r.Target, EventID: r.EventID, Body: body.Bytes(), Shared: body}, now); err != nil {
		if errors.Is(err, inbox.ErrNoInbox) {
			// A pod's inbox goes only with the pod: retrying cannot help.
			return deliver.Permanent(errors.New("the target pod does not exist"))
		}
		return err
	}
	return nil
}
