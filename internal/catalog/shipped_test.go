package catalog

import "testing"

func TestShipped(t *testing.T) {
	defs, err := Shipped()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		t.Log(d.Type.Code, len(d.Template.Fields))
	}
}
