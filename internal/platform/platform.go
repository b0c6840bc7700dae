// Package platform builds the platform's object graph: the services over
// one opened store, the audit checkpointer, and the HTTP handler put in
// front of them. serve, every command and the server tests build it here,
// so that what they run is the same graph; each service receives only the
// small interfaces it declares (its Deps).
package platform

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/codec/qr"
	"github.com/zhengzhao/zhengzhao/internal/holder"
	"github.com/zhengzhao/zhengzhao/internal/httpapi"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
	"github.com/zhengzhao/zhengzhao/internal/importer"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/pki"
	"github.com/zhengzhao/zhengzhao/internal/present"
	"github.com/zhengzhao/zhengzhao/internal/printout"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/server"
	"github.com/zhengzhao/zhengzhao/internal/status"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/trust"
	"github.com/zhengzhao/zhengzhao/internal/use"
	"github.com/zhengzhao/zhengzhao/internal/web"
)

// Options are what the graph is built with besides the store. The zero
// value is usable: no PKCS#11 token, the wall clock, crypto/rand and the
// default seal policies.
type Options struct {
	HSM   keyring.HSM      // the PKCS#11 token; nil: none, PKCS#11 keys are refused
	Clock func() time.Time // default time.Now
	Rand  io.Reader        // default crypto/rand
	Seal  seal.Config      // the seal policies; New refuses what seal.Config.Validate refuses
	// PublicURL is the platform's public base URL: status lists are
	// published below it and licenses name them there. Default
	// DefaultPublicURL.
	PublicURL string
	// StatusListAlg is the algorithm of the platform's status-list key if
	// it is made on first use; default SM2-SM3.
	StatusListAlg keys.Algorithm
	// Holders are the holder session lifetimes and the demo login; OIDC
	// the provider holders sign in with (none when its issuer is empty; a
	// redirect URL left empty is the callback below PublicURL).
	Holders holder.Config
	OIDC    holder.OIDCConfig
	// Witnesses are the witnesses whose cosignatures of the audit log's
	// checkpoints the platform takes (serve --witness); none: it takes none.
	Witnesses []auditlog.Witness
	// UseRate and UseBurst are each using unit's token bucket of scoped
	// uses in this process (serve --use-rate, --use-burst); UseRate 0
	// takes use.DefaultRate and use.DefaultBurst.
	UseRate  float64
	UseBurst int
	// ImportMaxSize bounds a file uploaded to import, in bytes (serve
	// --import-max-size); 0 takes importer.DefaultMaxUpload.
	ImportMaxSize int64
}

// DefaultPublicURL is the public base URL of a platform serving on the
// default address.
const DefaultPublicURL = "http://127.0.0.1:8080"

// Platform is the object graph over one store. The store is the caller's:
// it opened it and closes it.
type Platform struct {
	DB          *store.DB
	Orgs        *org.Service
	Keys        *keyring.Service
	PKI         *pki.Service
	Seals       *seal.Service
	Catalog     *catalog.Service
	Checkpoints *auditlog.Checkpointer
	Witnessing  *auditlog.Witnessing
	Status      *status.Service
	Licenses    *license.Service
	Trust       *trust.Service
	Holders     *holder.Service
	// HolderOIDC is the OpenID Connect sign-in of holders; nil when none
	// is configured.
	HolderOIDC *holder.OIDC
	// Presentations redeems holders' QR presentations online.
	Presentations *present.Service
	// Use keeps the using units' matters and their type grants.
	Use *use.Service
	now func() time.Time
	// importMaxSize is Options.ImportMaxSize.
	importMaxSize int64
}

// New builds the services over db.
func New(db *store.DB, o Options) (*Platform, error) {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.PublicURL == "" {
		o.PublicURL = DefaultPublicURL
	}
	orgs := org.NewService(org.Deps{Store: db, Tx: db.OrgTx, Now: o.Clock, Rand: o.Rand})
	ks := keyring.New(keyring.Deps{Store: db, Tx: db.KeyTx, HSM: o.HSM, Now: o.Clock, Rand: o.Rand})
	certs := pki.New(pki.Deps{Store: db, Tx: db.CertTx, Keys: ks, Now: o.Clock, Rand: o.Rand})
	seals, err := seal.New(seal.Deps{Store: db, Tx: db.SealTx, Orgs: orgs, Keys: ks, Certs: certs, Now: o.Clock, Rand: o.Rand}, o.Seal)
	if err != nil {
		return nil, err
	}
	platformCode := func(ctx context.Context) (string, error) {
		p, err := orgs.Platform(ctx)
		return p.CreditCode, err
	}
	// The status-list key also signs exported license credentials: both
	// are the platform's Data Integrity attestations (docs/vc.md).
	platformSigner := status.PlatformSigner(ks, platformCode, o.StatusListAlg, o.PublicURL)
	statusLists, err := status.New(status.Deps{Reader: db, BaseURL: o.PublicURL, Now: o.Clock, Signer: platformSigner})
	if err != nil {
		return nil, err
	}
	cat := catalog.New(catalog.Deps{Store: db, Tx: db.CatalogTx, Orgs: orgs, Now: o.Clock})
	licenses := license.New(license.Deps{Store: db, Tx: db.LicenseTx, BulkTx: db.LicenseBulkTx, Catalog: cat, Orgs: orgs, Seals: seals, Status: statusLists, Now: o.Clock,
		BaseURL: o.PublicURL, CredentialSigner: platformSigner, Transfers: db, TransferTx: db.TransferTx,
		Presenter: presentationKey(ks, platformCode), Printer: printer, Reconcile: db})
	holders, err := holder.New(holder.Deps{Store: db, Tx: db.HolderTx, Now: o.Clock, Rand: o.Rand, Config: o.Holders})
	if err != nil {
		return nil, err
	}
	if o.OIDC.Enabled() && o.OIDC.RedirectURL == "" {
		o.OIDC.RedirectURL = strings.TrimSuffix(o.PublicURL, "/") + httpapi.Prefix + "/holder/callback"
	}
	if err := o.OIDC.Validate(); err != nil {
		return nil, err
	}
	checkpoints := auditlog.NewCheckpointer(db, ks.CheckpointSigner, platformCode)
	witnessing, err := auditlog.NewWitnessing(auditlog.WitnessingDeps{Log: db, Cosignatures: db, Tx: db.CosignatureTx,
		Checkpoints: checkpoints, Witnesses: o.Witnesses, Now: o.Clock})
	if err != nil {
		return nil, err
	}
	verifier := trust.New(trust.Deps{Seals: seals, Catalog: cat, Status: statusLists, Tx: db.AuditTx, Now: o.Clock,
		Keys: ks, Platform: platformCode})
	return &Platform{DB: db, Orgs: orgs, Keys: ks, PKI: certs, Seals: seals, Catalog: cat,
		Checkpoints: checkpoints, Witnessing: witnessing, Status: statusLists, Licenses: licenses,
		Trust: verifier, Holders: holders, HolderOIDC: holders.OIDC(o.OIDC),
		Presentations: present.New(present.Deps{Tx: db.PresentTx, Purger: db, Keys: ks, Platform: platformCode,
			BaseURL: o.PublicURL, Now: o.Clock}),
		Use: use.New(use.Deps{Store: db, Tx: db.UseTx, Query: db.UseQueryTx, Cases: db.UseCaseTx, Orgs: orgs, Catalog: cat, Now: o.Clock, Rand: o.Rand,
			Rate: o.UseRate, Burst: o.UseBurst}), now: o.Clock, importMaxSize: o.ImportMaxSize}, nil
}

// presentationKey returns the platform's presentation key in ks, made
// SM2-SM3 on first use (keyring.Service.PresentationSigner), with its kid.
func presentationKey(ks *keyring.Service, platform func(context.Context) (string, error)) license.PresentationKeyFunc {
	return func(ctx context.Context) (license.PresentationKey, error) {
		code, err := platform(ctx)
		if err != nil {
			return license.PresentationKey{}, err
		}
		signer, _, err := ks.PresentationSigner(ctx, code, "")
		if err != nil {
			return license.PresentationKey{}, err
		}
		kid, err := qr.KeyID(signer.Public())
		if err != nil {
			return license.PresentationKey{}, err
		}
		return license.PresentationKey{Signer: signer, KID: kid}, nil
	}
}

// printer renders a printed copy with internal/printout, the seal's
// picture taken from the signed document and the fonts from the Debian
// font files printout finds. No font is a service unavailable: the
// operator installs one (docs/printout.md, "Fonts").
func printer(_ context.Context, j license.PrintJob) ([]byte, error) {
	sl, err := printout.DocumentSeal(j.Document)
	if err != nil {
		return nil, err
	}
	pdf, err := printout.Render(printout.Input{Document: j.Document, Template: j.Template, TypeName: j.TypeName, Masked: j.Masked,
		Seal: sl, QR: j.QR, Lang: j.Lang})
	if errors.Is(err, printout.ErrNoFont) {
		return nil, apperr.Wrap(apperr.Unavailable, err, "this platform prints no licenses: %v", err)
	}
	return pdf, err
}

// HTTP is what the platform's HTTP face needs besides the services.
type HTTP struct {
	Catalog  *i18n.Catalog // the messages of problem+json answers
	Log      *slog.Logger
	Registry *prometheus.Registry // where the server's metrics go
	// TokenCacheTTL is how long verified tokens are remembered; zero is
	// server.TokenCacheTTL, negative turns the cache off.
	TokenCacheTTL time.Duration
}

// Web is the platform's HTTP face: the API (its operations, OpenAPI
// document and authorization policies) and the complete handler (API,
// middleware, probes, metrics).
type Web struct {
	API     *httpapi.API
	Handler http.Handler
}

// Web builds the HTTP face of p. Each call has its own memory (the token
// cache), as one serve process has.
func (p *Platform) Web(h HTTP) Web {
	problems := httpapi.NewProblems(h.Catalog, h.Log)

	api := httpapi.New(httpapi.Services{Orgs: p.Orgs, Keys: p.Keys, PKI: p.PKI, Seals: p.Seals, Catalog: p.Catalog, Audit: p.DB,
		Checkpoints: p.Checkpoints, Witnessing: p.Witnessing, Status: p.Status, Licenses: p.Licenses, Trust: p.Trust,
		Holders: p.Holders, HolderOIDC: p.HolderOIDC, Presentations: p.Presentations, Use: p.Use,
		Imports: importer.Uploads{Store: p.Licenses, MaxSize: p.importMaxSize}}, problems)
	handler := server.Handler(server.Deps{
		API: api.Handler(), BodyLimit: api.BodyLimit, Auth: p.Orgs, Holders: p.Holders, Idem: p.DB, Store: p.DB, Problems: problems,
		Log: h.Log, Registry: h.Registry, Now: p.now, Tokens: p.Orgs, TokenCacheTTL: h.TokenCacheTTL, ChangesAuth: api.ChangesAuth,
		Pages: web.New(),
	})
	return Web{API: api, Handler: handler}
}
