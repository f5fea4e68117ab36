package pod

import (
	"context"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"podserver/deliver"
	"podserver/publish"
	"podserver/store"
)

// metrics are the server's Prometheus collectors, registered on its own
// registry (no global state).
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	batch    prometheus.Histogram
	// attempts counts delivery attempts by target host ("local" for local
	// inboxes) and outcome (deliver.Outcome*).
	attempts *prometheus.CounterVec
	// deliveryLatency is the time from a delivery record's creation to its
	// delivery (queued deliveries only; inline local copies are not
	// records).
	deliveryLatency prometheus.Histogram
	// fanoutCopies counts the copies fan-out jobs wrote on this node;
	// fanoutJob is the time from a publish to the last copy of its job.
	fanoutCopies prometheus.Counter
	fanoutJob    prometheus.Histogram
	// backlogFull counts publishes refused because the fan-out backlog
	// was full.
	backlogFull prometheus.Counter
	// connsClosed counts connections the connection guard closed, by
	// reason: "refused" (a new one, with no room) or "evicted" (an idle
	// one, to make room).
	connsClosed *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podserver_http_requests_total",
			Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "podserver_http_request_duration_seconds",
			Help:    "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "podserver_store_commit_batch_transactions",
			Help:    "Transactions per durable store commit (group commit batch size).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024},
		}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podserver_delivery_attempts_total",
			Help: "Delivery attempts by target host (local for this server's inboxes) and outcome (delivered, retry, dead).",
		}, []string{"host", "outcome"}),
		deliveryLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "podserver_delivery_latency_seconds",
			Help:    "Time from a queued delivery's creation to its successful delivery.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5, 30, 300, 3600, 36000},
		}),
		fanoutCopies: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podserver_fanout_copies_written_total",
			Help: "Subscriber copies written by fan-out jobs on this node (after the publish's answer).",
		}),
		fanoutJob: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "podserver_fanout_job_seconds",
			Help:    "Time from a publish to the last copy its fan-out job wrote, for jobs whose last batch this node wrote.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 3600},
		}),
		backlogFull: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podserver_fanout_backlog_full_total",
			Help: "Publishes refused with 503 because the fan-out backlog stayed above --fanout-max-pending.",
		}),
		connsClosed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podserver_connections_closed_total",
			Help: "Connections closed by the connection bounds (--max-connections, --max-connections-per-ip): refused (new, no room) or evicted (idle, to make room).",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.requests, m.latency, m.batch, m.attempts, m.deliveryLatency, m.fanoutCopies, m.fanoutJob, m.backlogFull, m.connsClosed)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// deliveryAttempt records the outcome of one delivery attempt
// (deliver.Config.OnAttempt).
func (m *metrics) deliveryAttempt(r deliver.Record, outcome string, latency time.Duration) {
	m.attempts.WithLabelValues(targetHost(r), outcome).Inc()
	if outcome == deliver.OutcomeDelivered {
		m.deliveryLatency.Observe(latency.Seconds())
	}
}

// fanoutWritten records a fan-out batch this node committed
// (publish.Config.OnFanoutWritten).
func (m *metrics) fanoutWritten(copies int, last bool, sincePublish time.Duration) {
	m.fanoutCopies.Add(float64(copies))
	if last {
		m.fanoutJob.Observe(sincePublish.Seconds())
	}
}

// registerFanoutPending exports the copies fan-out jobs have yet to write
// in the whole store, read at scrape time (at most every 100 ms).
func registerFanoutPending(reg *prometheus.Registry, p *publish.Service) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "podserver_fanout_pending_copies",
		Help: "Subscriber copies fan-out jobs have yet to write, across every node of the store (dead letters not counted).",
	}, func() float64 {
		n, err := p.FanoutPending(context.Background())
		if err != nil {
			return math.NaN()
		}
		return float64(n)
	}))
}

// targetHost is the metrics label of r's target: its URL's host, "local"
// for an inbox of this server (a copy, or a fan-out job's batch).
func targetHost(r deliver.Record) string {
	if r.Kind == deliver.KindInbox || r.Kind == deliver.KindFanout {
		return "local"
	}
	u, err := url.Parse(r.Target)
	if err != nil || u.Host == "" {
		return "invalid"
	}
	return strings.ToLower(u.Host)
}

// registerQueueDepth exports the delivery queue's depth: pending
// deliveries and dead letters.
func registerQueueDepth(reg *prometheus.Registry, q *deliver.Queue) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "podserver_delivery_queue_depth",
		Help:        "Deliveries in the durable queue by status.",
		ConstLabels: prometheus.Labels{"status": "pending"},
	}, func() float64 { p, _ := q.Depth(); return float64(p) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "podserver_delivery_queue_depth",
		Help:        "Deliveries in the durable queue by status.",
		ConstLabels: prometheus.Labels{"status": "dead"},
	}, func() float64 { _, d := q.Depth(); return float64(d) }))
}

// diskCollector exports the store's free-space watch (store.Space), read
// once per scrape.
type diskCollector struct {
	st                              store.SpaceReporter
	free, reserve, writable, refuse *prometheus.Desc
}

func newDiskCollector(st store.SpaceReporter) *diskCollector {
	return &diskCollector{
		st: st,
		free: prometheus.NewDesc("podserver_store_disk_free_bytes",
			"Free space on the data directory's filesystem available to the server.", nil, nil),
		reserve: prometheus.NewDesc("podserver_store_disk_reserve_bytes",
			"Free space the store keeps for the database's own work; writes are refused below it.", nil, nil),
		writable: prometheus.NewDesc("podserver_store_disk_writable",
			"1 while the store accepts writes, 0 while free space is below the reserve (writes get 507).", nil, nil),
		refuse: prometheus.NewDesc("podserver_store_writes_refused_total",
			"Store updates refused because free space was below the reserve.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (d *diskCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- d.free
	ch <- d.reserve
	ch <- d.writable
	ch <- d.refuse
}

// Collect implements prometheus.Collector.
func (d *diskCollector) Collect(ch chan<- prometheus.Metric) {
	sp := d.st.Space()
	writable := 0.0
	if sp.Writable {
		writable = 1
	}
	ch <- prometheus.MustNewConstMetric(d.free, prometheus.GaugeValue, float64(sp.Free))
	ch <- prometheus.MustNewConstMetric(d.reserve, prometheus.GaugeValue, float64(sp.Reserve))
	ch <- prometheus.MustNewConstMetric(d.writable, prometheus.GaugeValue, writable)
	ch <- prometheus.MustNewConstMetric(d.refuse, prometheus.CounterValue, float64(sp.Refused))
}
