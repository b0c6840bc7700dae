package seal

import (
	"testing"
	"time"
)

// TestActiveWithin covers changes inside the signing second, which GB/T
// 38540's whole-second signing time cannot order by itself.
func TestActiveWithin(t *testing.T) {
	T := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return T.Add(time.Duration(n) * time.Millisecond) }
	cases := []struct {
		name string
		h    []StateChange
		want bool
	}{
		{"made before", []StateChange{{ms(-5000), Active}}, true},
		{"made within the second", []StateChange{{ms(300), Active}}, true},
		{"made the next second", []StateChange{{ms(1000), Active}}, false},
		{"suspended within the second", []StateChange{{ms(-5000), Active}, {ms(500), Suspended}}, true},
		{"suspended before", []StateChange{{ms(-5000), Active}, {ms(-1), Suspended}}, false},
		{"suspended and restored within", []StateChange{{ms(-5000), Active}, {ms(-1), Suspended}, {ms(700), Active}}, true},
		{"unknown", nil, false},
	}
	for _, c := range cases {
		if got, _, _ := activeWithin(c.h, T); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
