package cli

import (
	"context"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store"
)

// platform opens the store and the PKCS#11 token (when configured) and
// builds the object graph over them; done closes both.
func (a *app) platform(ctx context.Context) (p *platform.Platform, done func(), err error) {
	p, _, done, err = a.openPlatform(ctx)
	return p, done, err
}

// openPlatform is platform that also says how many migrations opening the
// store applied.
func (a *app) openPlatform(ctx context.Context) (p *platform.Platform, migrated int, done func(), err error) {
	db, migrated, err := a.open(ctx)
	if err != nil {
		return nil, 0, nil, err
	}
	hsm, closeHSM, err := a.openHSM()
	if err != nil {
		db.Close()
		return nil, 0, nil, err
	}
	done = func() { closeHSM(); a.closeStore(db) }
	public, err := a.publicURL(ctx, db)
	if err != nil {
		done()
		return nil, 0, nil, err
	}
	o := a.options(hsm)
	o.PublicURL = public
	if o.OIDC, err = a.cfg.OIDC(public); err != nil {
		done()
		return nil, 0, nil, err
	}
	if p, err = platform.New(db, o); err != nil {
		done()
		return nil, 0, nil, err
	}
	return p, migrated, done, nil
}

// options are the platform options of the configuration: the token, and the
// seal policies (which Validate has checked when the command takes them).
func (a *app) options(hsm keyring.HSM) platform.Options {
	witnesses, _ := a.cfg.WitnessList() // Validate refused a bad key before the command ran
	useRate, _ := a.cfg.UseLimit()      // 0 (the defaults) for a command without the serve settings
	return platform.Options{HSM: hsm, Seal: a.cfg.Seal(), StatusListAlg: keys.Algorithm(a.cfg.StatusListAlg), Holders: a.cfg.Holders(),
		Witnesses: witnesses, UseRate: useRate, UseBurst: a.cfg.UseBurst, ImportMaxSize: int64(a.cfg.ImportMaxSize) << 20}
}

// publicURL is the public base URL of this process (platform.ResolvePublicURL):
// serve's and demo's --public-url or listening address, a command's the one
// the platform stored.
func (a *app) publicURL(ctx context.Context, db *store.DB) (string, error) {
	p := platform.PublicURL{Flag: a.cfg.PublicURL, Demo: a.demo}
	if a.listening != "" {
		p.Derived = a.cfg.BaseURL(a.listening)
	}
	return platform.ResolvePublicURL(ctx, db, p, time.Now())
}

// withPlatform runs fn on the opened platform and closes it afterwards.
func (a *app) withPlatform(ctx context.Context, fn func(p *platform.Platform) error) error {
	p, done, err := a.platform(ctx)
	if err != nil {
		return err
	}
	defer done()
	return fn(p)
}

// orgs opens the store for one command that needs only the organization
// service; done closes it.
func (a *app) orgs(ctx context.Context) (*org.Service, func(), error) {
	db, _, err := a.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	p, err := platform.New(db, a.options(nil))
	if err != nil {
		a.closeStore(db)
		return nil, nil, err
	}
	return p.Orgs, func() { a.closeStore(db) }, nil
}
