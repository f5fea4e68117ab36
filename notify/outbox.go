package notify

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"podserver/store"
)

// Outbox carries the notifications of push channels (WebhookChannel2023,
// LDNChannel2023) to their sendTo URLs. The built-in implementation is a
// small durable retry queue (below); the deliver package's queue can take
// its place once it handles webhooks and remote LDN inboxes.
type Outbox interface {
	// Send queues a notification. It must not block: the dispatcher calls
	// it.
	Send(p Push)
	// Close stops delivering. Durable notifications not yet delivered are
	// delivered after the next start.
	Close()
}

// Push is one notification for one push channel.
type Push struct {
	// Channel is the channel id; where the notification goes is resolved
	// at each attempt, so a deleted channel or a revoked Read stops it.
	Channel string `json:"channel"`
	// ID is the notification id (webhook-id; the inbox de-duplicates on it).
	ID string `json:"id"`
	// Body is the notification in ContentType.
	Body        []byte `json:"body"`
	ContentType string `json:"contentType"`
}

// PushTarget is where a push channel's notifications go.
type PushTarget struct {
	Channel string
	Type    string
	SendTo  string
	// Secret signs webhook requests (Standard Webhooks); "" for none.
	Secret string
	// Inbox is the storage path of the local inbox SendTo names, "" when
	// SendTo is not on this server.
	Inbox string
	// Sender is the WebID of the pod that sends: the topic's pod.
	Sender string
	// Pod is the name of that pod, whose key signs the request.
	Pod string
}

// DefaultRetry returns the wait after each failed push attempt:
// notifications are live, so the first retries come fast; after the last
// the notification is dropped.
func DefaultRetry() []time.Duration {
	return []time.Duration{
		time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute,
		30 * time.Minute, time.Hour, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour,
	}
}

// retryConfig configures the built-in retry queue.
type retryConfig struct {
	Store    store.Store
	Logger   *slog.Logger
	Client   *http.Client
	Schedule []time.Duration
	// Resolve returns the channel's target, nil when the notification is
	// to be dropped (the channel is gone or its creator lost access). An
	// error is retried.
	Resolve func(ctx context.Context, channel string) (*PushTarget, error)
	// Local delivers to an inbox on this server.
	Local func(ctx context.Context, t *PushTarget, p Push) error
	// Sign, if set, signs a POST as the sending pod.
	Sign func(ctx context.Context, pod string, req *http.Request, body []byte) error
	// Parallel bounds concurrent attempts (default 16).
	Parallel int
	// MaxPerChannel bounds the notifications waiting for one channel
	// (default 1000); more are dropped.
	MaxPerChannel int
	// Timeout bounds one attempt (default 30 s).
	Timeout time.Duration
}

// delivery is a queued push, as stored under store.PrefixChannel + "q" +
// seq. The record is written before the first attempt and removed after
// the last, so a notification survives restarts (at least once).
//
//	queued --ok, or dropped (4xx, channel gone)----------> (removed)
//	queued --failed, attempts <= len(Schedule)------------> queued, due = now + Schedule[attempts-1] (or Retry-After)
//	queued --failed, attempts > len(Schedule)-------------> (removed, logged)
type delivery struct {
	Seq       uint64    `json:"seq"`
	Push      Push      `json:"push"`
	Attempts  int       `json:"attempts"`
	Due       time.Time `json:"due"`
	Created   time.Time `json:"created"`
	LastError string    `json:"lastError,omitempty"`
}

var deliveryPrefix = []byte(store.PrefixChannel + "q")

func deliveryKey(seq uint64) []byte {
	return store.AppendUint64(append([]byte(nil), deliveryPrefix...), seq)
}

// outcome of one attempt.
type outcome struct {
	d          *delivery
	ok         bool
	drop       string // why the notification is dropped without retry
	err        error
	retryAfter time.Duration
}

// retryQueue is the built-in Outbox. One loop goroutine owns the queue
// (a heap by due time); attempts run in their own goroutines.
type retryQueue struct {
	cfg retryConfig
	log *slog.Logger

	mu     sync.Mutex
	intake []Push
	perCh  map[string]int

	wake    chan struct{}
	results chan outcome
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	wg      sync.WaitGroup

	due      dueHeap // loop goroutine only
	inflight int     // loop goroutine only
}

func newRetryQueue(cfg retryConfig) (*retryQueue, error) {
	if len(cfg.Schedule) == 0 {
		cfg.Schedule = DefaultRetry()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 16
	}
	if cfg.MaxPerChannel <= 0 {
		cfg.MaxPerChannel = 1000
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	q := &retryQueue{
		cfg: cfg, log: cfg.Logger,
		perCh:   make(map[string]int),
		wake:    make(chan struct{}, 1),
		results: make(chan outcome, cfg.Parallel),
		done:    make(chan struct{}),
	}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	err := cfg.Store.View(context.Background(), func(rd store.Reader) error {
		return rd.Scan(deliveryPrefix, nil, false, func(k, v []byte) error {
			d := new(delivery)
			if err := json.Unmarshal(v, d); err != nil {
				q.log.Warn("skipping unreadable queued notification", "err", err)
				return nil
			}
			q.due = append(q.due, d)
			q.perCh[d.Push.Channel]++
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("notify: load queued notifications: %w", err)
	}
	heap.Init(&q.due)
	go q.loop()
	return q, nil
}

// Send implements Outbox.
func (q *retryQueue) Send(p Push) {
	q.mu.Lock()
	if q.perCh[p.Channel] >= q.cfg.MaxPerChannel {
		q.mu.Unlock()
		q.log.Warn("push channel has too many undelivered notifications: notification dropped", "channel", p.Channel, "id", p.ID)
		return
	}
	q.perCh[p.Channel]++
	q.intake = append(q.intake, p)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Close implements Outbox.
func (q *retryQueue) Close() {
	q.cancel()
	<-q.done
}

func (q *retryQueue) loop() {
	defer close(q.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		q.store()
		q.start()
		wait := time.Hour
		if len(q.due) > 0 && q.inflight < q.cfg.Parallel {
			wait = max(time.Until(q.due[0].Due), 0)
		}
		timer.Reset(wait)
		select {
		case <-q.wake:
		case r := <-q.results:
			q.finish(r)
		case <-timer.C:
		case <-q.ctx.Done():
			// Notifications sent before Close are queued durably all the
			// same. Attempts under way end with the context; their records
			// stay queued for the next start.
			q.store()
			go func() {
				for range q.results {
				}
			}()
			q.wg.Wait()
			close(q.results)
			return
		}
	}
}

// store writes the new notifications in one transaction and queues them.
func (q *retryQueue) store() {
	q.mu.Lock()
	in := q.intake
	q.intake = nil
	q.mu.Unlock()
	if len(in) == 0 {
		return
	}
	now := time.Now()
	ds := make([]*delivery, len(in))
	// Not cancelled by Close: a notification accepted by Send is stored.
	err := q.cfg.Store.Update(context.WithoutCancel(q.ctx), func(tx store.Txn) error {
		for i, p := range in {
			d := &delivery{Seq: tx.NextSeq(), Push: p, Due: now, Created: now}
			v, err := json.Marshal(d)
			if err != nil {
				return err
			}
			if err := tx.Set(deliveryKey(d.Seq), v); err != nil {
				return err
			}
			ds[i] = d
		}
		return nil
	})
	if err != nil {
		q.mu.Lock()
		for _, p := range in {
			q.release(p.Channel)
		}
		q.mu.Unlock()
		if q.ctx.Err() == nil {
			q.log.Error("cannot queue push notifications: dropped", "count", len(in), "err", err)
		}
		return
	}
	for _, d := range ds {
		heap.Push(&q.due, d)
	}
}

// release decrements a channel's count; q.mu is held.
func (q *retryQueue) release(ch string) {
	if q.perCh[ch]--; q.perCh[ch] <= 0 {
		delete(q.perCh, ch)
	}
}

// start begins the attempts that are due, up to the parallel limit.
func (q *retryQueue) start() {
	now := time.Now()
	for len(q.due) > 0 && q.inflight < q.cfg.Parallel && !q.due[0].Due.After(now) {
		d := heap.Pop(&q.due).(*delivery)
		q.inflight++
		q.wg.Add(1)
		go func() {
			defer q.wg.Done()
			q.results <- q.attempt(d)
		}()
	}
}

// attempt makes one delivery attempt.
func (q *retryQueue) attempt(d *delivery) outcome {
	ctx, cancel := context.WithTimeout(q.ctx, q.cfg.Timeout)
	defer cancel()
	t, err := q.cfg.Resolve(ctx, d.Push.Channel)
	switch {
	case err != nil:
		return outcome{d: d, err: err}
	case t == nil:
		return outcome{d: d, drop: "the channel is gone or its creator can no longer read the topic"}
	case t.Inbox != "":
		if err := q.cfg.Local(ctx, t, d.Push); err != nil {
			return outcome{d: d, err: err}
		}
		return outcome{d: d, ok: true}
	}
	return q.post(ctx, t, d)
}

// post sends the notification to a webhook or a remote LDN inbox.
func (q *retryQueue) post(ctx context.Context, t *PushTarget, d *delivery) outcome {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.SendTo, bytes.NewReader(d.Push.Body))
	if err != nil {
		return outcome{d: d, drop: err.Error()}
	}
	req.Header.Set("Content-Type", d.Push.ContentType)
	req.Header.Set("User-Agent", "podserver-notifications")
	if t.Type == TypeWebhook && t.Secret != "" {
		if err := Sign(req.Header, t.Secret, d.Push.ID, time.Now(), d.Push.Body); err != nil {
			return outcome{d: d, drop: err.Error()}
		}
	}
	if q.cfg.Sign != nil && t.Pod != "" {
		if err := q.cfg.Sign(ctx, t.Pod, req, d.Push.Body); err != nil {
			q.log.Warn("cannot sign push notification: sending it unsigned", "channel", t.Channel, "pod", t.Pod, "err", err)
		}
	}
	resp, err := q.cfg.Client.Do(req)
	if err != nil {
		return outcome{d: d, err: err}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return outcome{d: d, ok: true}
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		return outcome{d: d, err: fmt.Errorf("%s answered %d", t.SendTo, s), retryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	default:
		return outcome{d: d, drop: fmt.Sprintf("%s answered %d", t.SendTo, s)}
	}
}

// retryAfter parses a Retry-After header (seconds or an HTTP date).
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s > 0 {
		return time.Duration(min(s, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), 24*time.Hour)
	}
	return 0
}

// finish records an attempt's outcome.
func (q *retryQueue) finish(r outcome) {
	q.inflight--
	d := r.d
	if !r.ok && r.drop == "" {
		d.Attempts++
		d.LastError = r.err.Error()
		if d.Attempts > len(q.cfg.Schedule) {
			r.drop = "no more retries: " + d.LastError
		} else {
			wait := q.cfg.Schedule[d.Attempts-1]
			wait += time.Duration(rand.Int64N(int64(wait)/5 + 1)) // up to 20% jitter
			d.Due = time.Now().Add(max(wait, r.retryAfter))
			v, err := json.Marshal(d)
			if err == nil {
				err = q.cfg.Store.Update(q.ctx, func(tx store.Txn) error { return tx.Set(deliveryKey(d.Seq), v) })
			}
			if err != nil && !errors.Is(err, context.Canceled) {
				q.log.Error("cannot requeue push notification", "channel", d.Push.Channel, "err", err)
			}
			heap.Push(&q.due, d)
			q.log.Debug("push notification failed; will retry", "channel", d.Push.Channel, "attempts", d.Attempts, "due", d.Due, "err", r.err)
			return
		}
	}
	if r.drop != "" {
		q.log.Warn("push notification dropped", "channel", d.Push.Channel, "id", d.Push.ID, "attempts", d.Attempts, "reason", r.drop)
	}
	if err := q.cfg.Store.Update(q.ctx, func(tx store.Txn) error { return tx.Delete(deliveryKey(d.Seq)) }); err != nil && !errors.Is(err, context.Canceled) {
		q.log.Error("cannot remove delivered push notification", "channel", d.Push.Channel, "err", err)
	}
	q.mu.Lock()
	q.release(d.Push.Channel)
	q.mu.Unlock()
}

// dueHeap orders deliveries by due time.
type dueHeap []*delivery

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if !h[i].Due.Equal(h[j].Due) {
		return h[i].Due.Before(h[j].Due)
	}
	return h[i].Seq < h[j].Seq
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(*delivery)) }
func (h *dueHeap) Pop() any {
	old := *h
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return d
}
