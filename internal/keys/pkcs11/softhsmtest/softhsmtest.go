// Package softhsmtest gives tests a fresh SoftHSM2 token, so that any
// package's tests can exercise the PKCS#11 key backend without hardware.
//
// It is for tests only: the PINs are fixed and public.
package softhsmtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/keys/pkcs11"
	"github.com/zhengzhao/zhengzhao/internal/testskip"
)

const (
	// ModulePath is where Debian's softhsm2 package installs the module.
	ModulePath = "/usr/lib/softhsm/libsofthsm2.so"
	// Util is the SoftHSM2 administration tool used to create tokens.
	Util = "softhsm2-util"
	// UserPIN is the user PIN of every token New creates.
	UserPIN = "1234"
	// SOPIN is the security officer PIN of every token New creates.
	SOPIN = "5678"
)

// New creates a fresh, empty SoftHSM2 token in t.TempDir() and returns the
// Config that opens it. It points SOFTHSM2_CONF at a configuration file in
// that directory with t.Setenv, so the test (and its parents) must not call
// t.Parallel, and every pkcs11.Token opened on an earlier token must be
// closed first: SoftHSM2 reads SOFTHSM2_CONF only when the module is
// loaded, and crypto11 shares one loaded module between open Tokens.
//
// When SoftHSM2 is not installed New skips the test with a loud message.
func New(t testing.TB) pkcs11.Config {
	t.Helper()
	util, err := exec.LookPath(Util)
	if _, statErr := os.Stat(ModulePath); statErr != nil || err != nil {
		testskip.Missing(t, "SoftHSM2", fmt.Sprintf("module %s or tool %s missing; apt-get install softhsm2", ModulePath, Util))
	}

	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatalf("softhsmtest: create token directory: %v", err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	body := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatalf("softhsmtest: write %s: %v", conf, err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)

	label := "zz-test-" + randomHex(t, 8)
	cmd := exec.Command(util, "--init-token", "--free", "--label", label, "--pin", UserPIN, "--so-pin", SOPIN)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("softhsmtest: %s --init-token --label %s: %v\n%s", util, label, err, out)
	}
	return pkcs11.Config{ModulePath: ModulePath, TokenLabel: label, PIN: UserPIN}
}

// randomHex returns 2n random hex digits.
func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("softhsmtest: random label: %v", err)
	}
	return hex.EncodeToString(b)
}
