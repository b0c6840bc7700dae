package verify

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
		{"made before", []StateChange{{ms(-5000), SealActive}}, true},
		{"made within the second", []StateChange{{ms(300), SealActive}}, true},
		{"made the next second", []StateChange{{ms(1000), SealActive}}, false},
		{"suspended within the second", []StateChange{{ms(-5000), SealActive}, {ms(500), SealSuspended}}, true},
		{"suspended before", []StateChange{{ms(-5000), SealActive}, {ms(-1), SealSuspended}}, false},
		{"suspended and restored within", []StateChange{{ms(-5000), SealActive}, {ms(-1), SealSuspended}, {ms(700), SealActive}}, true},
		{"unknown", nil, false},
	}
	for _, c := range cases {
		if got, _, _ := activeWithin(c.h, T); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	// A signing time with fractions of a second is exact: a seal made
	// 300 ms later was not active then.
	if got, _, _ := activeWithin([]StateChange{{ms(300), SealActive}}, ms(100)); got {
		t.Error("a seal made after an exact signing time counted as active")
	}
	if got, _, _ := activeWithin([]StateChange{{ms(50), SealActive}}, ms(100)); !got {
		t.Error("a seal made before an exact signing time did not count as active")
	}
}

func TestStateAt(t *testing.T) {
	T := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	h := []StateChange{{T, SealActive}, {T.Add(time.Hour), SealSuspended}, {T.Add(2 * time.Hour), SealCancelled}}
	cases := []struct {
		at    time.Time
		want  SealState
		found bool
	}{
		{T.Add(-time.Second), "", false},
		{T, SealActive, true},
		{T.Add(time.Hour - 1), SealActive, true},
		{T.Add(time.Hour), SealSuspended, true},
		{T.Add(3 * time.Hour), SealCancelled, true},
	}
	for _, c := range cases {
		if got, found := stateAt(h, c.at); got != c.want || found != c.found {
			t.Errorf("stateAt(%s) = %q %v, want %q %v", c.at.Format(time.RFC3339Nano), got, found, c.want, c.found)
		}
	}
}
