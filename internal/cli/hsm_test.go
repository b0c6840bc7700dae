//go:build cgo

package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/keys/pkcs11/softhsmtest"
)

func TestPKCS11Keys(t *testing.T) {
	cfg := softhsmtest.New(t)
	data := t.TempDir()
	base := []string{"--data=" + data, "--pkcs11-module", cfg.ModulePath, "--pkcs11-token", cfg.TokenLabel}
	t.Setenv("ZHENGZHAO_PKCS11_PIN", cfg.PIN)
	with := func(args ...string) []string { return append(append([]string{}, args...), base...) }
	// org takes no PKCS#11 flags: it never touches a token.
	if code, _, errOut := run(t, "org", "create", "--data="+data, "--credit-code", "91350100M000100Y43", "--name", "平台", "--region", "350100",
		"--kind", "platform", "--responsible-name", "李四", "--responsible-phone", "13900000000"); code != 0 {
		t.Fatalf("org create: %s", errOut)
	}
	doc := filepath.Join(data, "doc")
	writeFile(t, doc, []byte("证照"))
	for _, tc := range []struct{ name, alg string }{
		{"hsm", "ECDSA-P256-SHA256"},
		{"hsm-ed", "Ed25519"},
	} {
		code, id, errOut := run(t, with("key", "create", "--name", tc.name, "--purpose", "seal", "--alg", tc.alg, "--backend", "pkcs11")...)
		if code != 0 || !strings.HasPrefix(id, "key_") {
			t.Fatalf("create %s on the token: %d %q %q", tc.alg, code, id, errOut)
		}
		sig := filepath.Join(data, tc.name+".sig")
		if code, _, errOut := run(t, with("key", "sign", tc.name, doc, "--out", sig)...); code != 0 {
			t.Fatalf("sign with %s on the token: %s", tc.alg, errOut)
		}
		// Verification needs only the store, not the token.
		if code, _, errOut := run(t, "key", "verify", "--data="+data, doc, sig); code != 0 {
			t.Fatalf("verify %s: %s", tc.alg, errOut)
		}
		// And offline, with only the exported public key.
		code, pemOut, errOut := run(t, "key", "export-public", "--data="+data, tc.name)
		if code != 0 {
			t.Fatalf("export-public %s: %s", tc.alg, errOut)
		}
		pem := filepath.Join(data, tc.name+".pem")
		writeFile(t, pem, []byte(pemOut))
		if code, _, errOut := run(t, "key", "verify", "--data="+data, doc, sig, "--public", pem); code != 0 {
			t.Fatalf("verify %s offline: %s", tc.alg, errOut)
		}
		if code, _, errOut := run(t, with("key", "rotate", tc.name)...); code != 0 {
			t.Fatalf("rotate %s on the token: %s", tc.alg, errOut)
		}
		if code, _, errOut := run(t, with("key", "sign", tc.name, doc)...); code != 0 {
			t.Fatalf("sign with the rotated %s key: %s", tc.alg, errOut)
		}
	}
	if code, _, errOut := run(t, with("key", "create", "--name", "sm2hsm", "--purpose", "seal", "--backend", "pkcs11")...); code != 2 || !strings.Contains(errOut, "PKCS#11") {
		t.Fatalf("SM2 on SoftHSM: exit %d %q; want a clear refusal", code, errOut)
	}
	if code, _, errOut := run(t, "key", "create", "--data="+data, "--name", "nohsm", "--purpose", "seal", "--backend", "pkcs11"); code != 1 || !strings.Contains(errOut, "--pkcs11-module") {
		t.Fatalf("pkcs11 without a token: exit %d %q", code, errOut)
	}
	t.Setenv("ZHENGZHAO_PKCS11_PIN", "9999")
	if code, _, errOut := run(t, with("key", "sign", "hsm", doc)...); code != 1 || !strings.Contains(strings.ToLower(errOut), "pin") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("wrong PIN: exit %d %q; want one line naming the PIN", code, errOut)
	}
	bad := with("key", "list")
	bad[len(bad)-3] = "/nonexistent/libmissing.so"
	if code, _, errOut := run(t, bad...); code != 1 || !strings.Contains(errOut, "/nonexistent/libmissing.so") {
		t.Fatalf("missing module: exit %d %q; want the path named", code, errOut)
	}
}
