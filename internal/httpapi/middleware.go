package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"
)

// Documents and signatures travel as base64 strings ([]byte fields), and
// huma checks each with a regular expression before decoding it: for a
// signature over a 3 KB document that check cost more than the SM2 verify
// it precedes. Operations with a top-level []byte body field therefore
// validate their body here instead — the same schema, the same messages,
// the same problem documents — with the base64 alphabet checked by a loop
// and everything else by huma.Validate on a copy of the schema that leaves
// contentEncoding out. The published OpenAPI document is unchanged.

// bodyValidator validates the body of one operation before huma reads it.
type bodyValidator struct {
	api    huma.API
	schema *huma.Schema // the body schema, contentEncoding left out
	base64 []string     // the top-level properties that are base64
	limit  int64        // the largest body accepted
}

// base64Body reports whether the body of input type I has a top-level
// []byte field, which huma publishes as a base64 string.
func base64Body(t reflect.Type) bool {
	body, ok := t.FieldByName("Body")
	if !ok || body.Type.Kind() != reflect.Struct {
		return false
	}
	for i := range body.Type.NumField() {
		if f := body.Type.Field(i).Type; f.Kind() == reflect.Slice && f.Elem().Kind() == reflect.Uint8 {
			return true
		}
	}
	return false
}

// registered returns the operation as huma registered it.
func registered(api huma.API, method, path string) *huma.Operation {
	item := api.OpenAPI().Paths[path]
	if item == nil {
		return nil
	}
	return map[string]*huma.Operation{http.MethodGet: item.Get, http.MethodPost: item.Post, http.MethodPut: item.Put,
		http.MethodPatch: item.Patch, http.MethodDelete: item.Delete}[method]
}

// newBodyValidator prepares the validation of the registered operation
// op's body.
func newBodyValidator(api huma.API, op *huma.Operation, limit int64) (*bodyValidator, error) {
	if op == nil {
		return nil, errors.New("operation not registered")
	}
	if op.RequestBody == nil || op.RequestBody.Content["application/json"] == nil {
		return nil, fmt.Errorf("operation %s: no JSON request body", op.OperationID)
	}
	s := op.RequestBody.Content["application/json"].Schema
	if s.Ref != "" {
		s = api.OpenAPI().Components.Schemas.SchemaFromRef(s.Ref)
	}
	if s == nil {
		return nil, fmt.Errorf("operation %s: request body schema not found", op.OperationID)
	}
	v := &bodyValidator{api: api, limit: limit}
	cp := *s
	cp.Properties = make(map[string]*huma.Schema, len(s.Properties))
	for name, p := range s.Properties {
		if p.ContentEncoding == "base64" {
			q := *p
			q.ContentEncoding = ""
			p = &q
			v.base64 = append(v.base64, name)
		}
		cp.Properties[name] = p
	}
	v.schema = &cp
	return v, nil
}

// middleware reads and validates the body, answering as huma would, and
// hands the operation a context that reads the body again.
func (v *bodyValidator) middleware(hctx huma.Context, next func(huma.Context)) {
	size, _ := strconv.Atoi(hctx.Header("Content-Length"))
	body, status, msg, err := readLimited(hctx.BodyReader(), size, v.limit)
	if status != 0 {
		var errs []error
		if err != nil {
			errs = append(errs, err)
		}
		huma.WriteErr(v.api, hctx, status, msg, errs...) //nolint:errcheck // as huma does: the client may be gone
		return
	}
	if len(body) > 0 {
		ct := hctx.Header("Content-Type")
		var parsed any
		fast := false
		if isJSON(ct) {
			parsed, fast = parseJSONFast(body)
		}
		if !fast {
			if err := v.api.Unmarshal(ct, body, &parsed); err != nil {
				status := http.StatusBadRequest
				if errors.Is(err, huma.ErrUnknownContentType) {
					status = http.StatusUnsupportedMediaType
				}
				huma.WriteErr(v.api, hctx, status, "validation failed", //nolint:errcheck // as huma does
					&huma.ErrorDetail{Location: "body", Message: err.Error(), Value: string(body)})
				return
			}
		}
		res := &huma.ValidateResult{}
		pb := huma.NewPathBuffer(make([]byte, 0, 64), 0)
		pb.Push("body")
		if m, ok := parsed.(map[string]any); ok {
			for _, name := range v.base64 {
				if s, ok := m[name].(string); ok && !isBase64(s) {
					pb.Push(name)
					res.Add(pb, s, validation.MsgExpectedBase64String)
					pb.Pop()
				}
			}
		}
		huma.Validate(v.api.OpenAPI().Components.Schemas, v.schema, pb, huma.ModeWriteToServer, parsed, res)
		if len(res.Errors) > 0 {
			huma.WriteErr(v.api, hctx, http.StatusUnprocessableEntity, "validation failed", res.Errors...) //nolint:errcheck // as huma does
			return
		}
	}
	next(bodyContext{humaContext: hctx, body: bytes.NewReader(body)})
}

// isJSON reports whether a request's Content-Type selects JSON, the
// format huma assumes when there is none.
func isJSON(contentType string) bool {
	ct, _, _ := strings.Cut(contentType, ";")
	ct = strings.TrimSpace(ct)
	return ct == "" || strings.EqualFold(ct, "application/json")
}

// readLimited reads a body as huma does: at most limit bytes, a body
// that reaches the limit is too large. size is the announced length, a
// hint. A non-zero status is the answer.
func readLimited(r io.Reader, size int, limit int64) (body []byte, status int, msg string, err error) {
	if r == nil {
		return nil, 0, "", nil
	}
	var buf bytes.Buffer
	buf.Grow(int(min(max(int64(size), 0), limit)) + bytes.MinRead)
	_, err = buf.ReadFrom(io.LimitReader(r, limit))
	body = buf.Bytes()
	switch {
	case int64(len(body)) == limit:
		return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is too large limit=%d bytes", limit), nil
	case err == nil:
		return body, 0, "", nil
	}
	var nErr net.Error
	if errors.As(err, &nErr) && nErr.Timeout() {
		return nil, http.StatusRequestTimeout, "request body read timeout", nil
	}
	return nil, http.StatusInternalServerError, "cannot read request body", err
}

// isBase64 is huma's base64 rule, ^[a-zA-Z0-9+/_-]+=*$, without a regular
// expression.
func isBase64(s string) bool {
	i := 0
	for i < len(s) && base64Char(s[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// humaContext names huma.Context for embedding: a field named Context
// would hide its method Context.
type humaContext = huma.Context

func base64Char(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '_' || c == '-'
}

// bodyContext is a huma context whose body was read already.
type bodyContext struct {
	humaContext
	body io.Reader
}

func (c bodyContext) BodyReader() io.Reader { return c.body }
