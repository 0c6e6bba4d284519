package metrics

import "github.com/prometheus/client_golang/prometheus"

// Read replica (internal/db): how far behind the replica is, whether it is
// used, and where the routed reads went.
var (
	replicaUp = factory.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "db_replica_up",
		Help: "1 when the read replica answers and is a standby, 0 when reads fall back to the primary for it (down, promoted)."})
	replicaLagBytes = factory.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "db_replica_lag_bytes",
		Help: "WAL the read replica has not replayed yet: the primary's current LSN minus the replica's replay LSN."})
	replicaLagSeconds = factory.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "db_replica_lag_seconds",
		Help: "How long ago the primary wrote the oldest WAL the read replica has not replayed yet (0 when caught up)."})
	dbReads = factory.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "db_reads_total",
		Help: "Stale-tolerant reads by the database they went to (replica, primary) and why: fresh, not_configured, " +
			"write_path, replica_down, lagging, read_your_writes, fallback (the replica failed the read)."},
		[]string{"target", "reason"})
)

// ReplicaState records the read replica's last measurement.
func ReplicaState(up bool, lagBytes, lagSeconds float64) {
	v := 0.0
	if up {
		v = 1
	}
	replicaUp.Set(v)
	replicaLagBytes.Set(lagBytes)
	replicaLagSeconds.Set(lagSeconds)
}

// DBRead counts one routed read.
func DBRead(target, reason string) { dbReads.WithLabelValues(target, reason).Inc() }
