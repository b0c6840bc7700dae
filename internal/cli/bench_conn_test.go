package cli

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRawBenchConn drives the bench's own HTTP/1.1 connection against a
// net/http server answering in each way a server may: with a length,
// chunked, closing the connection, with another status, without what the
// bench wants.
func TestRawBenchConn(t *testing.T) {
	var bodies []string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /length", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, r.Header.Get("Authorization")+" "+r.Header.Get("Content-Type")+" "+string(b))
		_, _ = w.Write([]byte(`{"valid":true}`)) // a test server; the client checks what arrives
	})
	mux.HandleFunc("GET /chunked", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"val`))                                               // a test server; the client checks what arrives
		w.(http.Flusher).Flush()                                                      // a flushed answer has no length: chunked
		_, _ = w.Write([]byte(`id":true,"pad":"` + strings.Repeat(" ", 5000) + `"}`)) // a test server; the client checks what arrives
	})
	mux.HandleFunc("GET /close", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Connection", "close")
		_, _ = w.Write([]byte(`{"valid":true}`)) // a test server; the client checks what arrives
	})
	mux.HandleFunc("GET /refused", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"valid":false}`)) // a test server; the client checks what arrives
	})
	mux.HandleFunc("GET /missing", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no such thing", http.StatusNotFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()
	want := []byte(`{"valid":true`)
	for _, c := range []struct {
		method, path, fail string
		body               []byte
	}{
		{method: http.MethodPost, path: "/length", body: []byte(`{"payload":"x"}`)},
		{method: http.MethodGet, path: "/chunked"},
		{method: http.MethodGet, path: "/close"},
		{method: http.MethodGet, path: "/refused", fail: `no {"valid":true in the answer`},
		{method: http.MethodGet, path: "/missing", fail: "status 404: no such thing"},
	} {
		t.Run(c.path, func(t *testing.T) {
			req := benchRequest{method: c.method, url: srv.URL + c.path, token: "tok", want: want}
			conn, err := newBenchConn(srv.Client(), req)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.close()
			if _, ok := conn.(*rawBenchConn); !ok {
				t.Fatalf("an http URL gets a %T, want the bench's own connection", conn)
			}
			for i := range 3 { // the connection is kept, or dialled again after a close
				err := conn.do(ctx, req, c.body)
				switch {
				case c.fail == "" && err != nil:
					t.Fatalf("request %d: %v", i, err)
				case c.fail != "" && (err == nil || !strings.Contains(err.Error(), c.fail)):
					t.Fatalf("request %d: error %v, want one with %q", i, err, c.fail)
				}
			}
		})
	}
	if len(bodies) != 3 || bodies[0] != `Bearer tok application/json {"payload":"x"}` {
		t.Errorf("the server read %q", bodies)
	}
}
