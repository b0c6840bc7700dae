package auditlog

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/keys/canon"
)

// TestLeafPathsAgree holds the direct leaf encoder to the general one
// (encoding/json, then RFC 8785) on entries full of characters that JSON
// escapes or does not, and checks that it declines what it does not cover.
func TestLeafPathsAgree(t *testing.T) {
	pieces := []string{"", "a", "\"", "\\", "/", "\x00", "\x1f", "\x7f", "\b\f\n\r\t", "<>&", "\u2028\u2029", "证照", "😀",
		"\ufeff", "\u202e", "é", "x y", "0", "\U0010ffff"}
	rng := rand.New(rand.NewPCG(1, 2))
	str := func() string {
		var b strings.Builder
		for range rng.IntN(5) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	for i := range 2000 {
		e := Entry{Index: rng.Uint64N(1 << 53), At: time.Unix(rng.Int64N(1<<35), rng.Int64N(1e9)).In(time.FixedZone("", 3600)).Truncate(time.Microsecond),
			Actor: str(), Org: str(), Action: str(), Subject: str()}
		if i%3 > 0 {
			e.Details = map[string]string{}
			for range rng.IntN(4) {
				e.Details["k"+strings.Repeat("z", rng.IntN(3))+string(rune('A'+rng.IntN(40)))] = str()
			}
		}
		fast, ok := appendLeaf(nil, e)
		want, err := canon.JSON(leafFields{Action: e.Action, Actor: e.Actor, At: e.At.UTC(), Details: e.Details,
			Index: e.Index, Org: e.Org, Subject: e.Subject})
		if !ok || err != nil || string(fast) != string(want) {
			t.Fatalf("entry %+v:\ndirect  %s (%v)\ngeneral %s (%v)", e, fast, ok, want, err)
		}
	}
	for _, e := range []Entry{
		{At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Index: 1 << 53},
		{Subject: "\xff"},
		{Details: map[string]string{"名": "x"}},
	} {
		if _, ok := appendLeaf(nil, e); ok {
			t.Errorf("the direct encoder took %+v", e)
		}
	}
}
