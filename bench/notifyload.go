package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"podserver/notify"
	"podserver/rdf"
)

// NotifyLoadOptions configure RunNotifyLoad.
type NotifyLoadOptions struct {
	// Inbox is the absolute URL of the inbox every subscriber watches, e.g.
	// http://127.0.0.1:8080/alice/inbox/. Its pod's WebSocketChannel2023
	// service is used.
	Inbox string
	// Key is an API key with Read on the inbox (to subscribe) and Append
	// (to post the timed arrivals).
	Key string
	// Steps are the subscriber counts to reach in turn, e.g. 1000, 10000.
	Steps []int
	// Rounds is the number of timed inbox arrivals at each step (default 20).
	Rounds int
	// Concurrency bounds parallel subscriptions and dials (default 32).
	Concurrency int
	// Timeout bounds the wait for one arrival to reach every subscriber
	// (default 10 s).
	Timeout time.Duration
	// Idle, if set, is called at each step once its subscribers are
	// connected and idle, before the timed rounds: the server's side
	// measures its memory then.
	Idle func(ctx context.Context, subscribers int) error
	// Done, if set, is called after each step's timed rounds.
	Done func(NotifyLoadStep)
	// Logf, if set, reports progress.
	Logf func(format string, args ...any)
}

// NotifyLoadStep is what RunNotifyLoad measured at one step.
type NotifyLoadStep struct {
	Subscribers int `json:"subscribers"`
	// Connect is how long subscribing and connecting this step's new
	// subscribers took.
	Connect time.Duration `json:"connect"`
	Rounds  int           `json:"rounds"`
	// Received and Missing count notifications over all rounds.
	Received int `json:"received"`
	Missing  int `json:"missing"`
	// Latency from the start of the inbox POST to receipt by a subscriber.
	P50 time.Duration `json:"p50"`
	P90 time.Duration `json:"p90"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`
	// ClientCPU is the CPU time (user and system) this process spent per
	// round: receiving a notification on every subscriber.
	ClientCPU time.Duration `json:"clientCPU"`
}

// notifyArrival is one notification received by one subscriber.
type notifyArrival struct {
	object string
	at     time.Time
}

// RunNotifyLoad is the notification load test: it opens idle WebSocketChannel2023
// subscribers on one inbox (Steps), and at each step posts Rounds items to
// the inbox and measures, for every subscriber, the time from the start of
// the POST to the receipt of the Add notification. It speaks HTTP and
// WebSocket only, so it runs against any podserver; cmd/notifybench runs
// it in a separate process from the server it measures.
func RunNotifyLoad(ctx context.Context, o NotifyLoadOptions) ([]NotifyLoadStep, error) {
	if o.Rounds <= 0 {
		o.Rounds = 20
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	root, ok := strings.CutSuffix(o.Inbox, "inbox/")
	if !ok {
		return nil, fmt.Errorf("inbox %q must end in inbox/", o.Inbox)
	}
	service := root + ".notifications/websocket/"
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency}}
	defer client.CloseIdleConnections()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	maxSubs := slices.Max(append([]int{0}, o.Steps...))
	arrivals := make(chan notifyArrival, 2*maxSubs+16)
	var mu sync.Mutex
	var conns []*websocket.Conn
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.CloseNow()
		}
		mu.Unlock()
	}()

	var steps []NotifyLoadStep
	for _, target := range o.Steps {
		start := time.Now()
		mu.Lock()
		have := len(conns)
		mu.Unlock()
		if target > have {
			o.Logf("connecting subscribers %d..%d", have+1, target)
			if err := connectSubscribers(ctx, client, service, o, target-have, arrivals, &mu, &conns); err != nil {
				return steps, err
			}
		}
		st := NotifyLoadStep{Subscribers: target, Connect: time.Since(start), Rounds: o.Rounds}
		o.Logf("%d subscribers connected in %v", target, st.Connect.Round(time.Millisecond))
		if o.Idle != nil {
			if err := o.Idle(ctx, target); err != nil {
				return steps, err
			}
		}
		var lat []time.Duration
		cpu0 := CPUTime()
		for r := range o.Rounds {
			got, err := notifyRound(ctx, client, o, r, target, arrivals)
			if err != nil {
				return steps, err
			}
			lat = append(lat, got...)
			st.Missing += target - len(got)
			time.Sleep(50 * time.Millisecond)
		}
		st.Received = len(lat)
		st.ClientCPU = (CPUTime() - cpu0) / time.Duration(o.Rounds)
		slices.Sort(lat)
		if len(lat) > 0 {
			pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
			st.P50, st.P90, st.P99, st.Max = pct(0.50), pct(0.90), pct(0.99), lat[len(lat)-1]
		}
		o.Logf("%d subscribers: p50 %v p90 %v p99 %v max %v, %d missing",
			target, st.P50.Round(time.Microsecond), st.P90.Round(time.Microsecond), st.P99.Round(time.Microsecond), st.Max.Round(time.Microsecond), st.Missing)
		steps = append(steps, st)
		if o.Done != nil {
			o.Done(st)
		}
	}
	return steps, nil
}

// connectSubscribers subscribes and connects n more subscribers.
func connectSubscribers(ctx context.Context, client *http.Client, service string, o NotifyLoadOptions, n int, arrivals chan<- notifyArrival, mu *sync.Mutex, conns *[]*websocket.Conn) error {
	work := make(chan struct{})
	errc := make(chan error, o.Concurrency)
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				c, err := subscribeWS(ctx, client, service, o)
				if err != nil {
					errc <- err
					return
				}
				mu.Lock()
				*conns = append(*conns, c)
				mu.Unlock()
				go readNotifications(ctx, c, arrivals)
			}
		}()
	}
	var err error
feed:
	for range n {
		select {
		case work <- struct{}{}:
		case err = <-errc:
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errc:
		default:
		}
	}
	return err
}

// subscribeWS makes one channel on the inbox and connects to it.
func subscribeWS(ctx context.Context, client *http.Client, service string, o NotifyLoadOptions) (*websocket.Conn, error) {
	body, _ := json.Marshal(map[string]any{"@context": []string{rdf.NotificationContextURI}, "type": notify.TypeWebSocket, "topic": o.Inbox})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, service, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/ld+json")
	req.Header.Set("x-api-key", o.Key)
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("subscribe: %d %s", resp.StatusCode, b)
	}
	var ch struct {
		ReceiveFrom string `json:"receiveFrom"`
	}
	if err := json.Unmarshal(b, &ch); err != nil || ch.ReceiveFrom == "" {
		return nil, fmt.Errorf("subscribe: no receiveFrom in %s", b)
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(dctx, ch.ReceiveFrom, nil)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", ch.ReceiveFrom, err)
	}
	return c, nil
}

// readNotifications records what a subscriber receives.
func readNotifications(ctx context.Context, c *websocket.Conn, arrivals chan<- notifyArrival) {
	for {
		// No deadline or cancellation here: a Read with a cancelable context
		// registers with it, and a thousand readers waking together would
		// contend on that context's lock. RunNotifyLoad closes the connections.
		_, b, err := c.Read(context.Background())
		if err != nil {
			return
		}
		at := time.Now()
		var m struct {
			Object string `json:"object"`
		}
		if json.Unmarshal(b, &m) == nil {
			select {
			case arrivals <- notifyArrival{m.Object, at}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// notifyRound posts one item to the inbox and waits for every subscriber's Add.
func notifyRound(ctx context.Context, client *http.Client, o NotifyLoadOptions, r, want int, arrivals <-chan notifyArrival) ([]time.Duration, error) {
	body := fmt.Sprintf(`{"@context": "https://www.w3.org/ns/activitystreams", "type": "Announce", "summary": "load round %d"}`, r)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.Inbox, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/ld+json")
	req.Header.Set("x-api-key", o.Key)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("post to inbox: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("post to inbox: %d", resp.StatusCode)
	}
	item := resp.Header.Get("Location")
	out := make([]time.Duration, 0, want)
	timeout := time.NewTimer(o.Timeout)
	defer timeout.Stop()
	for len(out) < want {
		select {
		case a := <-arrivals:
			if a.object == item {
				out = append(out, a.at.Sub(start))
			}
		case <-timeout.C:
			return out, nil
		case <-ctx.Done():
			return out, ctx.Err()
		}
	}
	return out, nil
}
