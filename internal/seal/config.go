package seal

import (
	"fmt"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

// Config holds the seal policies an operator may tune; zero values take the
// defaults.
type Config struct {
	// Validity of a seal certificate (default two years, capped by the root).
	Validity time.Duration
	// RenewalWindow before expiry in which renewal is allowed (R-SEAL-3:
	// three months).
	RenewalWindow time.Duration
	// MaxPINFailures before the seal locks (default 5).
	MaxPINFailures int
	// PINMaxAge after which the platform warns that the PIN is old (default
	// 180 days).
	PINMaxAge time.Duration
	// VendorID written into seal headers.
	VendorID string
}

// The defaults of Config and the bounds Validate holds its fields to. The
// bounds refuse values no seal policy means — a validity of hours, a
// thousand PIN tries — and leave room for any policy an operator chooses.
const (
	day                   = 24 * time.Hour
	DefaultValidity       = 2 * 365 * day
	DefaultRenewalWindow  = 92 * day // three months
	DefaultMaxPINFailures = 5
	DefaultPINMaxAge      = 180 * day

	MinValidity       = day
	MaxValidity       = 10 * 365 * day
	MinRenewalWindow  = day
	MinMaxPINFailures = 1
	MaxMaxPINFailures = 20
	MinPINMaxAge      = day
	MaxPINMaxAge      = 5 * 365 * day
)

// Validate reports every field of c out of its bounds, zero being the
// default and always valid: the validity from a day to ten years, the
// renewal window from a day to less than the validity, from 1 to 20 PIN
// failures, a PIN age from a day to five years. The error is an
// apperr.Invalid naming each field and the rule it breaks.
func (c Config) Validate() error {
	var fs apperr.Fields
	d := c.withDefaults()
	if c.Validity != 0 && (c.Validity < MinValidity || c.Validity > MaxValidity) {
		fs.Add("validity", "range", fmt.Sprintf("from %s to %s", MinValidity, MaxValidity))
	}
	if c.RenewalWindow != 0 && (c.RenewalWindow < MinRenewalWindow || c.RenewalWindow >= d.Validity) {
		fs.Add("renewal_window", "range", fmt.Sprintf("from %s to less than the validity %s", MinRenewalWindow, d.Validity))
	} else if c.RenewalWindow == 0 && c.Validity != 0 && d.RenewalWindow >= d.Validity {
		fs.Add("validity", "range", fmt.Sprintf("longer than the renewal window %s", d.RenewalWindow))
	}
	if c.MaxPINFailures != 0 && (c.MaxPINFailures < MinMaxPINFailures || c.MaxPINFailures > MaxMaxPINFailures) {
		fs.Add("max_pin_failures", "range", fmt.Sprintf("from %d to %d", MinMaxPINFailures, MaxMaxPINFailures))
	}
	if c.PINMaxAge != 0 && (c.PINMaxAge < MinPINMaxAge || c.PINMaxAge > MaxPINMaxAge) {
		fs.Add("pin_max_age", "range", fmt.Sprintf("from %s to %s", MinPINMaxAge, MaxPINMaxAge))
	}
	return fs.Err()
}

func (c Config) withDefaults() Config {
	if c.Validity == 0 {
		c.Validity = DefaultValidity
	}
	if c.RenewalWindow == 0 {
		c.RenewalWindow = DefaultRenewalWindow
	}
	if c.MaxPINFailures == 0 {
		c.MaxPINFailures = DefaultMaxPINFailures
	}
	if c.PINMaxAge == 0 {
		c.PINMaxAge = DefaultPINMaxAge
	}
	if c.VendorID == "" {
		c.VendorID = "zhengzhao"
	}
	return c
}
