package store

import (
	"fmt"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/okxtape/okxtape/schema"
)

// Disk levels, from free space on the watched folders (the spool and RecorderOptions.WatchDirs):
//
//	diskOK        free >= DiskLowBytes                      everything is recorded
//	diskLow       free <  DiskLowBytes                      raw frames are shed (dropped, counted per dataset)
//	diskLower     free <  halfway between low and critical  raw frames and quotes are shed
//	diskCritical  free <  DiskCriticalBytes                 nothing is accepted (loud error; exit non-zero)
//
// The shed order puts first what costs least to lose: raw frames duplicate the normalised datasets (only
// replay serve and renormalise need them) and quotes are derived from books (replay rebuilds them). A level
// is left only when free space is 10 % above the mark that entered it, so the recorder does not flap.
const (
	diskOK int32 = iota
	diskLow
	diskLower
	diskCritical
)

var diskLevelNames = [...]string{"ok", "low", "lower", "critical"}

// shedAt is the lowest disk level at which a dataset is shed.
var shedAt = func() (s [schema.NumKinds]int32) {
	for k := range s {
		s[k] = diskCritical
	}
	for _, t := range schema.Tables() {
		switch t.Name {
		case "raw":
			s[t.Kind] = diskLow
		case "quotes":
			s[t.Kind] = diskLower
		}
	}
	return s
}()

// Drop reasons (the reason label of okxtape_recorder_dropped_total).
const (
	dropDiskLow = iota
	dropDiskCritical
	dropSpoolFull
	dropSpoolWrite
	dropClosed
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{"disk_low", "disk_critical", "spool_full", "spool_write_failed", "closed"}

var (
	metricDropped = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "okxtape_recorder_dropped_total",
		Help: "Events not recorded, per dataset and reason: disk_low (shed below the low free-space mark), disk_critical (below the critical mark), spool_full (the disk cannot keep up), spool_write_failed (accepted but the final spool write failed), closed (after Close).",
	}, []string{"dataset", "reason"})
	metricDiskLevel = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "okxtape_disk_level",
		Help: "Free-space level of the store: 0 ok, 1 low (raw frames shed), 2 lower (quotes shed too), 3 critical (nothing recorded).",
	})
	metricDiskFree = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "okxtape_disk_free_bytes",
		Help: "Smallest free space over the spool and store folders.",
	})
	droppedCounters = func() (c [numDropReasons][schema.NumKinds]prometheus.Counter) {
		for r := range c {
			for _, t := range schema.Tables() {
				c[r][t.Kind] = metricDropped.WithLabelValues(t.Name, dropReasonNames[r])
			}
		}
		return c
	}()
)

// statfsFree returns the bytes available to an unprivileged user on dir's file system.
func statfsFree(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// diskFree returns the smallest free space over the watched folders and the folder it belongs to.
func (r *Recorder) diskFree() (free uint64, dir string, err error) {
	first := true
	for _, d := range append([]string{r.o.SpoolDir}, r.o.WatchDirs...) {
		f, ferr := r.o.FreeBytes(d)
		if ferr != nil {
			err = ferr
			continue
		}
		if first || f < free {
			free, dir, first = f, d, false
		}
	}
	if first && err != nil {
		return 0, "", err
	}
	return free, dir, nil
}

// levelFor maps free bytes to a disk level.
func (r *Recorder) levelFor(free uint64) int32 {
	low, crit := uint64(r.o.DiskLowBytes), uint64(r.o.DiskCriticalBytes)
	switch {
	case crit > 0 && free < crit:
		return diskCritical
	case low > crit && free < crit+(low-crit)/2:
		return diskLower
	case low > 0 && free < low:
		return diskLow
	}
	return diskOK
}

// checkDisk updates the disk level from the free space, with hysteresis, and logs each change.
func (r *Recorder) checkDisk() {
	if r.o.DiskLowBytes <= 0 && r.o.DiskCriticalBytes <= 0 {
		return
	}
	free, dir, err := r.diskFree()
	if err != nil {
		if now := time.Now(); now.Sub(r.diskErrLog) > time.Minute {
			r.diskErrLog = now
			r.log.Warn("recorder: cannot read free disk space", "err", err)
		}
		return
	}
	metricDiskFree.Set(float64(free))
	cur := r.diskLevel.Load()
	lvl := r.levelFor(free)
	if lvl < cur && r.levelFor(free-free/11) >= cur {
		lvl = cur // not 10 % above the mark yet
	}
	if lvl == cur {
		if lvl == diskCritical && time.Since(r.diskLog) >= 10*time.Second {
			r.diskLog = time.Now()
			r.logDisk(lvl, free, dir)
		}
		return
	}
	r.diskLevel.Store(lvl)
	metricDiskLevel.Set(float64(lvl))
	if lvl == diskCritical {
		r.everCritical.Store(true)
	}
	r.diskLog = time.Now()
	r.logDisk(lvl, free, dir)
}

func (r *Recorder) logDisk(lvl int32, free uint64, dir string) {
	args := []any{"dir", dir, "free_mib", free >> 20, "low_mark_mib", r.o.DiskLowBytes >> 20,
		"critical_mark_mib", r.o.DiskCriticalBytes >> 20, "dropped_total", r.dropped.Load()}
	switch lvl {
	case diskOK:
		r.log.Warn("recorder: disk space recovered; recording every dataset again", args...)
	case diskLow:
		r.log.Warn("recorder: disk space below the low mark: shedding raw frames (dropped and counted)", args...)
	case diskLower:
		r.log.Warn("recorder: disk space low: shedding raw frames and quotes (dropped and counted)", args...)
	default:
		r.log.Error("recorder: DISK CRITICAL: NOT RECORDING; every event is dropped and counted until space is freed; the run will exit non-zero", args...)
	}
}

// DiskCriticalError is returned by Start when free space is already below the critical mark.
type DiskCriticalError struct {
	Dir            string
	Free, Critical uint64
}

func (e *DiskCriticalError) Error() string {
	return fmt.Sprintf("disk full: %s has %d MiB free, below the critical mark of %d MiB (--disk-critical-mb); refusing to record",
		e.Dir, e.Free>>20, e.Critical>>20)
}
