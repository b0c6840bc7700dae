package password_test

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/password"
)

func TestHashAndVerify(t *testing.T) {
	h, err := password.Hash("correct horse battery", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := password.Verify(h, "correct horse battery"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	if err := password.Verify(h, "correct horse batterY"); !errors.Is(err, password.ErrMismatch) {
		t.Fatalf("wrong password: err = %v", err)
	}
	// A stored hash that asks for a 1025-byte key is refused, not computed.
	tooLong := "$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$" + base64.RawStdEncoding.EncodeToString(make([]byte, 1025))
	for _, bad := range []string{"", "$argon2id$", "$bcrypt$v=19$m=1,t=1,p=1$AA$AA", h[:len(h)-50], tooLong} {
		if err := password.Verify(bad, "x"); err == nil || errors.Is(err, password.ErrMismatch) {
			t.Errorf("VerifyPassword(%q) = %v, want a format error", bad, err)
		}
	}
}
