package seal_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

const day = 24 * time.Hour

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cfg        seal.Config
		field, why string // the first field refused, empty when valid
	}{
		{"zero takes the defaults", seal.Config{}, "", ""},
		{"all set", seal.Config{Validity: 365 * day, RenewalWindow: 30 * day, MaxPINFailures: 3, PINMaxAge: 90 * day}, "", ""},
		{"bounds", seal.Config{Validity: seal.MaxValidity, RenewalWindow: seal.MinRenewalWindow, MaxPINFailures: seal.MaxMaxPINFailures, PINMaxAge: seal.MaxPINMaxAge}, "", ""},
		{"validity too short", seal.Config{Validity: time.Hour, RenewalWindow: time.Hour * 2}, "validity", "range"},
		{"validity too long", seal.Config{Validity: seal.MaxValidity + time.Second}, "validity", "range"},
		{"validity inside the default window", seal.Config{Validity: 60 * day}, "validity", "range"},
		{"negative window", seal.Config{RenewalWindow: -day}, "renewal_window", "range"},
		{"window as long as the validity", seal.Config{Validity: 365 * day, RenewalWindow: 365 * day}, "renewal_window", "range"},
		{"window longer than the default validity", seal.Config{RenewalWindow: seal.DefaultValidity}, "renewal_window", "range"},
		{"no PIN try", seal.Config{MaxPINFailures: -1}, "max_pin_failures", "range"},
		{"too many PIN tries", seal.Config{MaxPINFailures: seal.MaxMaxPINFailures + 1}, "max_pin_failures", "range"},
		{"PIN age too short", seal.Config{PINMaxAge: time.Minute}, "pin_max_age", "range"},
		{"PIN age too long", seal.Config{PINMaxAge: seal.MaxPINMaxAge + day}, "pin_max_age", "range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			var ae *apperr.Error
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("Validate(%+v) = %v, want nil", tc.cfg, err)
			case tc.field == "":
			case !errors.As(err, &ae) || !errors.Is(err, apperr.Invalid) || len(ae.Fields) == 0:
				t.Fatalf("Validate(%+v) = %v, want an invalid error naming %s", tc.cfg, err, tc.field)
			case ae.Fields[0].Field != tc.field || ae.Fields[0].Rule != tc.why:
				t.Fatalf("Validate(%+v) refuses %+v, want %s/%s", tc.cfg, ae.Fields[0], tc.field, tc.why)
			}
		})
	}
	if _, err := seal.New(seal.Deps{}, seal.Config{MaxPINFailures: 100}); !errors.Is(err, apperr.Invalid) {
		t.Errorf("New with 100 PIN failures = %v, want the policies refused", err)
	}
}

// TestConfiguredPolicies: a seal service built with other policies than the
// defaults applies them: the certificate's validity, the renewal window,
// the PIN tries before the lock and the age of a stale PIN.
func TestConfiguredPolicies(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := setupWith(t, db, keys.SM2SM3, seal.Config{Validity: 365 * day, RenewalWindow: 30 * day, MaxPINFailures: 2, PINMaxAge: 10 * day})
		x := f.makeSeal(t, seal.NoApproval)
		if got := x.ValidTo.Sub(x.ValidFrom); got != 365*day {
			t.Errorf("certificate valid for %s, want 8760h", got)
		}
		renew := func() error { return f.renew(ctx, x.ID) }
		f.clk.add(x.ValidTo.Sub(f.clk.now()) - 40*day) // inside the default window, outside this one
		if err := renew(); rule(err) != "renewal-window" {
			t.Fatalf("renewal 40 days before expiry with a 30-day window: %v", err)
		}
		f.clk.add(20 * day)
		if err := renew(); err != nil {
			t.Fatalf("renewal 20 days before expiry: %v", err)
		}

		if _, err := f.svc.SetPIN(ctx, f.keeper, x.ID, "", "135790"); err != nil {
			t.Fatal(err)
		}
		doc := []byte("doc")
		req, err := f.svc.RequestUse(ctx, f.keeper, x.ID, hexOf(doc), "t", "p")
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if _, err := f.svc.Sign(ctx, f.keeper, x.ID, seal.SignInput{RequestID: req.ID, Document: doc, PIN: "999999"}); rule(err) != "pin" {
				t.Fatalf("wrong PIN %d: %v", i+1, err)
			}
		}
		if _, err := f.svc.Sign(ctx, f.keeper, x.ID, seal.SignInput{RequestID: req.ID, Document: doc, PIN: "135790"}); !errors.Is(err, seal.ErrPINLocked) {
			t.Fatalf("right PIN after two wrong ones with a limit of two: %v, want the seal locked", err)
		}

		y, err := f.svc.GetSeal(ctx, x.ID)
		if err != nil {
			t.Fatal(err)
		}
		if f.svc.PINStale(y) {
			t.Fatal("a PIN set today is stale")
		}
		f.clk.add(11 * day)
		if !f.svc.PINStale(y) {
			t.Fatal("a PIN set 11 days ago is not stale with a 10-day age")
		}
	})
}
