package web

import (
	"bytes"
	"compress/gzip"
	"testing"
)

// A compressed body is refused before anything inflates it: 4 MiB of
// zeros under two layers of gzip is a few hundred bytes on the wire.
func TestCompressedBodyRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var once, twice bytes.Buffer
	zw := gzip.NewWriter(&once)
	_, _ = zw.Write(make([]byte, 4<<20))
	_ = zw.Close()
	zw = gzip.NewWriter(&twice)
	_, _ = zw.Write(once.Bytes())
	_ = zw.Close()
	for _, enc := range []string{"gzip", "gzip, gzip", "deflate", "br", "GZIP"} {
		t.Run(enc, func(t *testing.T) {
			r := e.with(t).do(req{method: "POST", path: "/api/v1/users", body: twice.String(),
				header: map[string]string{"Content-Encoding": enc}})
			r.wantProblem(t, 415, codeUnsupported)
		})
	}
	r := e.do(req{method: "POST", path: "/api/v1/users", body: `{"email":"a@example.com","password":"correct horse","name":"A"}`,
		header: map[string]string{"Content-Encoding": "identity"}})
	r.wantStatus(t, 201)
}
