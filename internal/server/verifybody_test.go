package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/httpapi"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestVerifyBodyProblems: seal verification validates its body without
// huma's regular expressions (internal/httpapi/middleware.go) and must
// answer exactly as huma would: authorization first, then one problem
// naming each bad field and its rule.
func TestVerifyBodyProblems(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	token := e.tokens[authz.Auditor]
	const path = "/api/v1/signatures/verify"
	digest := strings.Repeat("0", 64)
	cases := []struct {
		name, token, body, ctype string
		status                   int
		field, rule              string
	}{
		{"no token", "", `{"signature":"@@@"}`, "", http.StatusUnauthorized, "", ""},
		{"malformed JSON", token, `{"signature":`, "", http.StatusBadRequest, "$", "json"},
		{"not base64", token, `{"signature":"@@@","digest":"` + digest + `"}`, "", http.StatusUnprocessableEntity, "signature", "format"},
		{"document not base64", token, `{"signature":"aGk=","document":"a b"}`, "", http.StatusUnprocessableEntity, "document", "format"},
		{"padding inside", token, `{"signature":"aG=k","digest":"` + digest + `"}`, "", http.StatusUnprocessableEntity, "signature", "format"},
		{"missing signature", token, `{"digest":"` + digest + `"}`, "", http.StatusUnprocessableEntity, "signature", "required"},
		{"wrong type", token, `{"signature":7,"digest":"` + digest + `"}`, "", http.StatusUnprocessableEntity, "signature", "type"},
		{"digest too long", token, `{"signature":"aGk=","digest":"` + digest + `0"}`, "", http.StatusUnprocessableEntity, "digest", "max-length"},
		{"unknown field", token, `{"signature":"aGk=","digest":"` + digest + `","colour":"red"}`, "", http.StatusUnprocessableEntity, "colour", "unknown-field"},
		{"not JSON", token, `{"signature":"aGk="}`, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType, "Content-Type", "media-type"},
		{"oversized", token, `{"signature":"` + strings.Repeat("A", httpapi.BodyLimit) + `"}`, "", http.StatusRequestEntityTooLarge, "", ""},
	}
	for _, c := range cases {
		var headers []string
		if c.ctype != "" {
			headers = []string{"Content-Type", c.ctype}
		}
		r := e.do("POST", path, c.token, c.body, headers...)
		if r.status != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, r.status, c.status, r.body)
			continue
		}
		p := r.problem(t)
		if c.field == "" {
			continue
		}
		if !namesField(p, c.field, c.rule) {
			t.Errorf("%s: errors %+v do not name %s/%s", c.name, p.Errors, c.field, c.rule)
		}
	}

	// A well-formed body reaches verification, which reads it as sent.
	r := e.do("POST", path, token, `{"signature":"aGk=","digest":"`+digest+`"}`)
	var v struct {
		Valid  bool
		Checks []struct {
			Name string
			OK   bool
		}
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &v) != nil || v.Valid || len(v.Checks) != 1 || v.Checks[0].Name != "structure" {
		t.Fatalf("verdict on a signature that does not parse: %d %s", r.status, r.body)
	}
}
