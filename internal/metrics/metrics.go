// Package metrics exposes Kaigi's counters in the Prometheus text format.
// It reads them from functions at scrape time, so nothing on the media path
// touches a Prometheus type.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Sources are the functions the metrics read.
type Sources struct {
	Meetings         func() int    // meetings with someone in them
	Participants     func() int    // participants, including those reconnecting
	Connections      func() int    // open signalling sockets
	ForwardedPackets func() uint64 // RTP packets sent to subscribers since start
	ForwardedBytes   func() uint64 // their bytes
}

// Handler returns the /metrics handler.
func Handler(src Sources) http.Handler {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, f func() int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "kaigi", Name: name, Help: help},
			func() float64 { return float64(f()) })
	}
	counter := func(name, help string, f func() uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "kaigi", Name: name, Help: help},
			func() float64 { return float64(f()) })
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		gauge("meetings", "Meetings with at least one participant.", src.Meetings),
		gauge("participants", "Participants in meetings, including those reconnecting.", src.Participants),
		gauge("signalling_connections", "Open signalling WebSockets.", src.Connections),
		counter("forwarded_packets_total", "RTP packets forwarded to subscribers.", src.ForwardedPackets),
		counter("forwarded_bytes_total", "Bytes of RTP forwarded to subscribers.", src.ForwardedBytes),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
