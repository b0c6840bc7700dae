package use

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Default use rate of one unit, per serve process.
const (
	DefaultRate  = 20.0
	DefaultBurst = 40
)

// limits is a token bucket per using unit, keyed by its credit code. It
// lives in the process: each serve process counts separately, so N
// processes let a unit through at up to N times the rate.
type limits struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	units map[string]*rate.Limiter
}

// newLimits returns the buckets of r uses a second and burst; r 0 takes
// the defaults.
func newLimits(r float64, burst int) *limits {
	if r <= 0 {
		r, burst = DefaultRate, DefaultBurst
	}
	return &limits{rate: rate.Limit(r), burst: max(burst, 1), units: map[string]*rate.Limiter{}}
}

// take spends a token of unit at now; without one it spends nothing and
// returns how long until one is there.
func (l *limits) take(unit string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	lim, ok := l.units[unit]
	if !ok {
		lim = rate.NewLimiter(l.rate, l.burst)
		l.units[unit] = lim
	}
	l.mu.Unlock()
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return time.Second, false
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}
