package admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsServer serves /metrics (Prometheus text) and /healthz over HTTP.
type MetricsServer struct {
	ln  net.Listener
	srv *http.Server
}

// ListenMetrics binds addr; Serve then answers on it.
func ListenMetrics(addr string, p Provider) (*MetricsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return &MetricsServer{ln: ln, srv: &http.Server{Handler: Handler(p), ReadHeaderTimeout: 10 * time.Second}}, nil
}

// Addr is the address listened on.
func (m *MetricsServer) Addr() string { return m.ln.Addr().String() }

// Serve answers until Close.
func (m *MetricsServer) Serve() error {
	if err := m.srv.Serve(m.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops the server, giving running requests a second.
func (m *MetricsServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return m.srv.Shutdown(ctx)
}

// Handler serves /metrics and /healthz for p.
func Handler(p Provider) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(&collector{p: p})
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		st := p.Snapshot()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !st.Healthy {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "unhealthy: %s\n", st.Problem)
			return
		}
		fmt.Fprintf(w, "ok: %s\n", st.Phase)
	})
	return mux
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("replicant_"+name, help, labels, nil)
}

var (
	descInfo         = desc("info", "Always 1; the labels say what runs.", "version", "phase", "target")
	descUptime       = desc("uptime_seconds", "Seconds since replicant started.")
	descPaused       = desc("applying_paused", "1 while applying to the target is paused (PAUSE), else 0.")
	descShard        = desc("shard_info", "Always 1; the labels describe a source shard.", "shard", "source", "replid", "phase")
	descSourceOffset = desc("source_offset_bytes", "The source's master_repl_offset (absent when unknown).", "shard")
	descReceived     = desc("received_offset_bytes", "Replication stream offset read from the source and spooled.", "shard")
	descApplied      = desc("applied_offset_bytes", "Replication stream offset the target holds.", "shard")
	descLagBytes     = desc("lag_bytes", "Bytes of stream the source wrote and the target does not hold yet.", "shard")
	descLagSeconds   = desc("lag_seconds", "Age of the newest heartbeat the target holds (absent when unknown).", "shard")
	descRestored     = desc("keys_restored_total", "Snapshot keys written to the target.", "shard")
	descSkipped      = desc("keys_skipped_total", "Snapshot keys not written, by reason.", "shard", "reason")
	descCmdSkipped   = desc("commands_skipped_total", "Stream commands not applied, by reason (filtered, mixed).", "shard", "reason")
	descCommands     = desc("commands_applied_total", "Stream commands applied to the target.", "shard")
	descErrors       = desc("target_errors_total", "Error replies of the target, by kind (restore: a snapshot key; command: a stream command).", "shard", "kind")
	descOps          = desc("ops_per_second", "Keys restored plus commands applied per second, lately.", "shard")
)

// collector reads a Status at each scrape.
type collector struct{ p Provider }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInfo, descUptime, descPaused, descShard, descSourceOffset, descReceived,
		descApplied, descLagBytes, descLagSeconds, descRestored, descSkipped, descCmdSkipped, descCommands, descErrors, descOps} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.p.Snapshot()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(descInfo, 1, st.Version, st.Phase, st.Target)
	gauge(descUptime, st.Uptime.Seconds())
	paused := 0.0
	if st.ApplyingPaused {
		paused = 1
	}
	gauge(descPaused, paused)
	for i, sh := range st.Shards {
		id := strconv.Itoa(i)
		gauge(descShard, 1, id, sh.Source, sh.ReplID, sh.Phase)
		if sh.SourceOffset >= 0 {
			gauge(descSourceOffset, float64(sh.SourceOffset), id)
		}
		gauge(descReceived, float64(sh.ReceivedOffset), id)
		gauge(descApplied, float64(sh.AppliedOffset), id)
		gauge(descLagBytes, float64(sh.LagBytes), id)
		if sh.LagSeconds >= 0 {
			gauge(descLagSeconds, sh.LagSeconds, id)
		}
		counter(descRestored, sh.KeysRestored, id)
		for reason, n := range sh.KeysSkipped {
			counter(descSkipped, n, id, reason)
		}
		for reason, n := range sh.CommandsSkipped {
			counter(descCmdSkipped, n, id, reason)
		}
		counter(descCommands, sh.Commands, id)
		counter(descErrors, sh.RestoreErrors, id, "restore")
		counter(descErrors, sh.CommandErrors, id, "command")
		gauge(descOps, sh.OpsPerSec, id)
	}
}
