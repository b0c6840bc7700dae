//go:build !cgo

package cli

import (
	"errors"

	"github.com/zhengzhao/zhengzhao/internal/keyring"
)

// openHSM: the PKCS#11 backend needs cgo; this binary was built without it.
func (a *app) openHSM() (keyring.HSM, func(), error) {
	if a.cfg.PKCS11Module == "" && a.cfg.PKCS11Token == "" {
		return nil, func() {}, nil
	}
	return nil, nil, errors.New("this zhengzhao was built without cgo, so it has no PKCS#11 backend: rebuild with CGO_ENABLED=1 and a C compiler")
}
