package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/pki"
)

// CertificateOf renders a certificate for the API (and the CLI's --json).
func CertificateOf(c pki.Cert) api.Certificate {
	p, _ := c.PEM()
	return api.Certificate{Fingerprint: c.Fingerprint, Serial: c.Serial, KeyID: c.KeyID, Kind: string(c.Kind), Source: string(c.Source),
		Issuer: c.Issuer, Subject: c.Subject, NotBefore: c.NotBefore, NotAfter: c.NotAfter, RevokedAt: c.RevokedAt,
		RevocationReason: c.RevocationReason, PEM: string(p)}
}

type certOutput struct {
	Body api.Certificate
}

type certRefInput struct {
	Ref string `path:"ref" maxLength:"64" doc:"Fingerprint, or serial of a certificate of the internal root."`
}

type keyCertsOutput struct {
	Body struct {
		Items []api.Certificate `json:"items"`
	}
}

type crlOutput struct {
	ContentType  string `header:"Content-Type"`
	CacheControl string `header:"Cache-Control"`
	Body         []byte
}

// The certificates, the root and the CRL are what verifiers need: every
// role may read them.
func (a *API) registerCerts() {
	a.registerGetCARoot()
	a.registerGetCACRL()
	a.registerGetCertificate()
	a.registerListKeyCertificates()
}

func (a *API) registerGetCARoot() {
	register(a, huma.Operation{
		OperationID: "get-ca-root", Method: http.MethodGet, Path: Prefix + "/ca/root", Tags: []string{"certificates"},
		Summary: "Get the platform root certificate", Description: "平台根证书，用于信任列表。", Errors: []int{http.StatusNotFound},
	}, anyRole(), func(ctx context.Context, _ *struct{}) (*certOutput, error) {
		c, _, err := a.svc.PKI.Root(ctx)
		if err != nil {
			return nil, err
		}
		return &certOutput{Body: CertificateOf(c)}, nil
	})
}

func (a *API) registerGetCACRL() {
	register(a, huma.Operation{
		OperationID: "get-ca-crl", Method: http.MethodGet, Path: Prefix + "/ca/crl", Tags: []string{"certificates"},
		Summary:     "Get a freshly signed CRL of the platform root (DER)",
		Description: "证书撤销列表，application/pkix-crl。", Errors: []int{http.StatusNotFound},
		Responses: map[string]*huma.Response{"200": {Description: "DER CRL", Content: map[string]*huma.MediaType{"application/pkix-crl": {}}}},
	}, anyRole(), func(ctx context.Context, _ *struct{}) (*crlOutput, error) {
		der, err := a.svc.PKI.CRL(ctx)
		if err != nil {
			return nil, err
		}
		return &crlOutput{ContentType: "application/pkix-crl", CacheControl: "max-age=300", Body: der}, nil
	})
}

func (a *API) registerGetCertificate() {
	register(a, huma.Operation{
		OperationID: "get-certificate", Method: http.MethodGet, Path: Prefix + "/certificates/{ref}", Tags: []string{"certificates"},
		Summary: "Get a certificate", Errors: []int{http.StatusNotFound},
	}, anyRole(), func(ctx context.Context, in *certRefInput) (*certOutput, error) {
		c, err := a.svc.PKI.Get(ctx, in.Ref)
		if err != nil {
			return nil, err
		}
		return &certOutput{Body: CertificateOf(c)}, nil
	})
}

func (a *API) registerListKeyCertificates() {
	register(a, huma.Operation{
		OperationID: "list-key-certificates", Method: http.MethodGet, Path: Prefix + "/keys/{id}/certificates", Tags: []string{"certificates"},
		Summary: "List the certificates of a key", Errors: []int{http.StatusNotFound},
	}, anyRole(), func(ctx context.Context, in *keyInput) (*keyCertsOutput, error) {
		if _, err := a.svc.Keys.Get(ctx, in.ID); err != nil {
			return nil, err
		}
		cs, err := a.svc.PKI.List(ctx, pki.Filter{KeyID: in.ID})
		if err != nil {
			return nil, err
		}
		out := &keyCertsOutput{}
		out.Body.Items = ListOf(cs, CertificateOf).Items
		return out, nil
	})
}
