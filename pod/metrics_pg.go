package pod

import (
	"github.com/prometheus/client_golang/prometheus"

	"podserver/store/pgstore"
)

// pgCollector reports a PostgreSQL store's pool, group commit, retries
// and change feed (pgstore.Stats) on /metrics.
type pgCollector struct {
	st      *pgstore.Store
	metrics []pgMetric
	d       map[string]*prometheus.Desc
}

// pgMetric is one metric of pgCollector: name, help, and how to read the
// value from the stats.
type pgMetric struct {
	name, help string
	counter    bool
	value      func(pgstore.Stats) float64
}

// pgMetrics returns the metrics of pgCollector.
func pgMetrics() []pgMetric {
	return []pgMetric{
		{"podserver_pg_pool_connections", "Connections in the PostgreSQL pool.", false, func(s pgstore.Stats) float64 { return float64(s.TotalConns) }},
		{"podserver_pg_pool_idle_connections", "Idle connections in the PostgreSQL pool.", false, func(s pgstore.Stats) float64 { return float64(s.IdleConns) }},
		{"podserver_pg_pool_acquired_connections", "Connections taken from the PostgreSQL pool now.", false, func(s pgstore.Stats) float64 { return float64(s.AcquiredConns) }},
		{"podserver_pg_pool_acquires_total", "Connections taken from the PostgreSQL pool.", true, func(s pgstore.Stats) float64 { return float64(s.AcquireCount) }},
		{"podserver_pg_pool_empty_acquires_total", "Connections taken from the PostgreSQL pool that had to wait for one.", true, func(s pgstore.Stats) float64 { return float64(s.EmptyAcquireCount) }},
		{"podserver_pg_retries_total", "Write batches re-run after a serialization failure or deadlock.", true, func(s pgstore.Stats) float64 { return float64(s.Retries) }},
		{"podserver_pg_batches_total", "Write transactions committed (each holds a group of updates).", true, func(s pgstore.Stats) float64 { return float64(s.Batches) }},
		{"podserver_pg_updates_total", "Updates committed.", true, func(s pgstore.Stats) float64 { return float64(s.Updates) }},
		{"podserver_pg_feed_lag", "Changes committed by the cluster that this node's caches have not been told of yet.", false, func(s pgstore.Stats) float64 { return float64(s.FeedLag) }},
		{"podserver_pg_feed_resets_total", "Times the change feed may have missed changes and every cache was dropped.", true, func(s pgstore.Stats) float64 { return float64(s.FeedResets) }},
		{"podserver_pg_reachable", "1 while the last database operation reached PostgreSQL, 0 while requests get 503.", false, func(s pgstore.Stats) float64 {
			if s.Reachable {
				return 1
			}
			return 0
		}},
	}
}

func newPGCollector(st *pgstore.Store) *pgCollector {
	c := &pgCollector{st: st, metrics: pgMetrics(), d: map[string]*prometheus.Desc{}}
	for _, m := range c.metrics {
		c.d[m.name] = prometheus.NewDesc(m.name, m.help, nil, nil)
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *pgCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.d {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *pgCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.st.Stats()
	for _, m := range c.metrics {
		typ := prometheus.GaugeValue
		if m.counter {
			typ = prometheus.CounterValue
		}
		ch <- prometheus.MustNewConstMetric(c.d[m.name], typ, m.value(s))
	}
}
