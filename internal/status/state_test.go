package status

import (
	"errors"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
)

func TestBitsOf(t *testing.T) {
	tests := []struct {
		state                  State
		revocation, suspension bool
	}{
		{Active, false, false},
		{Pledged, false, false},
		{Expired, false, false},
		{Suspended, false, true},
		{ReportedLost, false, true},
		{Revoked, true, false},
		{Cancelled, true, false},
		{Abolished, true, false},
		{Superseded, true, false},
	}
	for _, tt := range tests {
		b, err := BitsOf(tt.state)
		if err != nil {
			t.Fatalf("BitsOf(%s) error = %v", tt.state, err)
		}
		if b.Revocation != tt.revocation || b.Suspension != tt.suspension {
			t.Errorf("BitsOf(%s) = %+v, want revocation %v suspension %v", tt.state, b, tt.revocation, tt.suspension)
		}
		if b.Bit(statuslist.PurposeRevocation) != tt.revocation || b.Bit(statuslist.PurposeSuspension) != tt.suspension {
			t.Errorf("BitsOf(%s).Bit disagrees with the fields", tt.state)
		}
	}
	if _, err := BitsOf("lost"); !errors.Is(err, ErrUnknownState) {
		t.Errorf("BitsOf(lost) error = %v, want ErrUnknownState", err)
	}
}

func TestCheckChange(t *testing.T) {
	tests := []struct {
		from, to State
		want     error
	}{
		{Active, Suspended, nil},
		{Suspended, Active, nil},
		{Active, ReportedLost, nil},
		{ReportedLost, Active, nil},
		{ReportedLost, Superseded, nil},
		{Active, Revoked, nil},
		{Suspended, Cancelled, nil},
		{Pledged, Active, nil},
		{Revoked, Abolished, nil},
		{Revoked, Active, ErrIrreversible},
		{Cancelled, Suspended, ErrIrreversible},
		{Superseded, Active, ErrIrreversible},
		{Abolished, Expired, ErrIrreversible},
		{Active, "lost", ErrUnknownState},
		{"lost", Active, ErrUnknownState},
	}
	for _, tt := range tests {
		_, err := CheckChange(tt.from, tt.to)
		if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("CheckChange(%s, %s) error = %v, want %v", tt.from, tt.to, err, tt.want)
		}
	}
}
