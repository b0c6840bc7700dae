//go:build cgo

package cli

import (
	"context"

	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/internal/keys/pkcs11"
)

// hsmToken adapts a PKCS#11 token to the keyring's HSM interface.
type hsmToken struct{ t *pkcs11.Token }

func (h hsmToken) Generate(ctx context.Context, alg keys.Algorithm, id string) (keys.Signer, error) {
	return h.t.Generate(ctx, alg, id)
}

func (h hsmToken) Find(ctx context.Context, id string) (keys.Signer, error) {
	return h.t.Find(ctx, id)
}

// openHSM opens the configured PKCS#11 token; with none configured it
// returns a nil HSM, and PKCS#11 keys are refused with a clear error.
func (a *app) openHSM() (keyring.HSM, func(), error) {
	if a.cfg.PKCS11Module == "" && a.cfg.PKCS11Token == "" {
		return nil, func() {}, nil
	}
	t, err := pkcs11.Open(pkcs11.Config{ModulePath: a.cfg.PKCS11Module, TokenLabel: a.cfg.PKCS11Token, PIN: a.cfg.PKCS11PIN})
	if err != nil {
		return nil, nil, err
	}
	return hsmToken{t}, func() { t.Close() }, nil
}
