package verify_test

import (
	"crypto/rand"
	"errors"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/keys"
	"github.com/zhengzhao/zhengzhao/verify"
)

// presenter is the platform's presentation key as a test holds it.
type presenter struct {
	key *keys.SoftwareKey
	pk  verify.PresentationKey
}

func newPresenter(t testing.TB, alg keys.Algorithm) presenter {
	t.Helper()
	k, err := keys.GenerateSoftware(alg, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := verify.NewPresentationKey(k.Public(), t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return presenter{key: k, pk: pk}
}

func TestOpenBundleRefusesBadPresentationKeys(t *testing.T) {
	p := newPlatform(t)
	a, b := newPresenter(t, keys.SM2SM3), newPresenter(t, keys.ECDSAP256)
	for name, change := range map[string]func(*verify.Bundle){
		"kid not the key's": func(bu *verify.Bundle) {
			k := a.pk
			k.KID = "0011223344556677"
			bu.SetPresentationKey(k)
		},
		"alg not the key's": func(bu *verify.Bundle) {
			k := a.pk
			k.Alg = string(keys.ECDSAP256)
			bu.SetPresentationKey(k)
		},
		"not a key": func(bu *verify.Bundle) {
			k := a.pk
			k.PublicKeyPEM = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
			bu.SetPresentationKey(k)
		},
		"out of order": func(bu *verify.Bundle) {
			bu.SetPresentationKey(a.pk)
			bu.SetPresentationKey(b.pk)
			bu.PresentationKeys[0], bu.PresentationKeys[1] = bu.PresentationKeys[1], bu.PresentationKeys[0]
		},
	} {
		t.Run(name, func(t *testing.T) {
			bu := p.bundle()
			change(&bu)
			if _, err := verify.OpenBundle(sign(t, bu, p.rootKey, p.root), ""); !errors.Is(err, verify.ErrMalformedBundle) {
				t.Fatalf("OpenBundle: %v, want ErrMalformedBundle", err)
			}
		})
	}
	bu := p.bundle()
	bu.SetPresentationKey(a.pk)
	bu.SetPresentationKey(b.pk)
	opened, err := verify.OpenBundle(sign(t, bu, p.rootKey, p.root), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(opened.PresentationKeys) != 2 || opened.PresentationKeys[0].KID >= opened.PresentationKeys[1].KID {
		t.Errorf("presentation keys %+v", opened.PresentationKeys)
	}
}
