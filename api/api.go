// Package api is the published HTTP contract of zhengzhao: the body types
// that the API answers with and that the CLI prints with --json, and the
// OpenAPI 3.1 document of /api/v1, generated from the registered operations
// and committed here so that changes to the contract show up in review. The
// types hold plain strings, times and slices and import nothing of the
// platform; internal/httpapi renders the domain's values into them. A test
// fails when this copy is stale; regenerate it with
//
//	ZHENGZHAO_UPDATE_OPENAPI=1 go test ./internal/httpapi/ -run TestOpenAPIIsCommitted
package api

import _ "embed"

// OpenAPI is the committed OpenAPI document.
//
//go:embed openapi.json
var OpenAPI []byte
