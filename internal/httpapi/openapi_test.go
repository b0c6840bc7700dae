package httpapi_test

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/httpapi"
	"github.com/zhengzhao/zhengzhao/internal/i18n"
)

// TestOpenAPIIsCommitted keeps api/openapi.json equal to what the code
// registers.
func TestOpenAPIIsCommitted(t *testing.T) {
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	a := httpapi.New(httpapi.Services{}, httpapi.NewProblems(cat, slog.New(slog.NewTextHandler(io.Discard, nil))))
	doc, err := a.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	doc = append(doc, '\n')
	if os.Getenv("ZHENGZHAO_UPDATE_OPENAPI") != "" {
		if err := os.WriteFile("../../api/openapi.json", doc, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(doc, api.OpenAPI) {
		t.Fatal("api/openapi.json is stale: run ZHENGZHAO_UPDATE_OPENAPI=1 go test ./internal/httpapi/ -run TestOpenAPIIsCommitted")
	}
}
