package web

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"strings"
	"testing"
)

// stdParts parses body with mime/multipart, the reference, keeping the
// named parts as splitMultipart does.
func stdParts(body []byte, boundary string) ([]formPart, error) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var out []formPart
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, err
		}
		if p.FormName() != "" {
			out = append(out, formPart{name: p.FormName(), filename: p.FileName(), data: data})
		}
	}
}

// encodeParts writes a multipart body as net/http clients do.
func encodeParts(t testing.TB, boundary string, parts ...formPart) []byte {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if err := w.SetBoundary(boundary); err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		var (
			pw  io.Writer
			err error
		)
		if p.filename != "" {
			pw, err = w.CreateFormFile(p.name, p.filename)
		} else {
			pw, err = w.CreateFormField(p.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(p.data)
	}
	w.Close()
	return b.Bytes()
}

// TestSplitMultipart: bodies as clients write them split into the parts
// mime/multipart finds; broken ones are refused, never misread.
func TestSplitMultipart(t *testing.T) {
	t.Parallel()
	photo := []byte("\xff\xd8\xff\xe0 binary \r\n--notTheBoundary\r\n \x00\xff")
	good := encodeParts(t, "XyZ", formPart{name: "title", data: []byte("A vase")},
		formPart{name: "photo", filename: "a.jpg", data: photo},
		formPart{name: "photo", filename: "b.jpg", data: []byte("\r\n--XyZ-almost\r\n")})
	ok := []struct {
		name string
		body []byte
	}{
		{"as net/http writes it", good},
		{"with a preamble and an epilogue", append(append([]byte("preamble --XyZ here\r\n"), good...), "epilogue"...)},
		{"padding after delimiters", bytes.ReplaceAll(good, []byte("--XyZ\r\n"), []byte("--XyZ \t\r\n"))},
		{"no parts", []byte("--XyZ--\r\n")},
	}
	for _, tc := range ok {
		got, err := splitMultipart(tc.body, "XyZ")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want, err := stdParts(tc.body, "XyZ")
		if err != nil {
			t.Fatalf("%s: mime/multipart: %v", tc.name, err)
		}
		sameParts(t, tc.name, got, want)
	}
	if got, _ := splitMultipart(good, "XyZ"); len(got) != 3 || !bytes.Equal(got[1].data, photo) {
		t.Fatalf("the photo part was misread: %+v", got)
	}

	many := strings.Repeat("--b\r\n\r\nx\r\n", maxFormParts+1) + "--b--\r\n"
	bad := []struct {
		name, body string
	}{
		{"no boundary at all", "just text"},
		{"no closing delimiter", "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue"},
		{"headers never end", "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n--b--\r\n"},
		{"not form-data", "--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nv\r\n--b--\r\n"},
		{"quoted-printable", "--b\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nv=41\r\n--b--\r\n"},
		{"a bare LF blank line in the headers", "--b\r\nContent-Disposition: form-data; name=\"a\"\n\nX: y\r\n\r\nv\r\n--b--\r\n"},
		{"too many nameless parts", many},
		{"huge headers", "--b\r\nX-Pad: " + strings.Repeat("a", maxPartHeaderBytes) + "\r\n\r\nv\r\n--b--\r\n"},
	}
	for _, tc := range bad {
		if parts, err := splitMultipart([]byte(tc.body), "b"); err == nil {
			t.Errorf("%s: accepted, %d parts", tc.name, len(parts))
		}
	}
	if _, err := splitMultipart(good, strings.Repeat("b", 71)); err == nil {
		t.Error("a 71-character boundary was accepted")
	}
}

func sameParts(t testing.TB, name string, got, want []formPart) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d parts, mime/multipart finds %d", name, len(got), len(want))
	}
	for i := range got {
		if got[i].name != want[i].name || got[i].filename != want[i].filename || !bytes.Equal(got[i].data, want[i].data) {
			t.Fatalf("%s: part %d is %q %q %q; mime/multipart reads %q %q %q", name, i,
				got[i].name, got[i].filename, got[i].data, want[i].name, want[i].filename, want[i].data)
		}
	}
}

// FuzzSplitMultipart: whatever splitMultipart accepts, mime/multipart
// reads the same way (it may refuse more), and nothing panics.
func FuzzSplitMultipart(f *testing.F) {
	f.Add(encodeParts(f, "b", formPart{name: "photo", filename: "p.jpg", data: []byte("\xff\xd8\xff")}), "b")
	f.Add(encodeParts(f, "b", formPart{name: "t", data: []byte("v")}, formPart{name: "u", data: nil}), "b")
	f.Add([]byte("pre\r\n--b \r\nContent-Disposition: form-data; name=x\r\n\r\n\r\n--bb\r\n--b--"), "b")
	f.Add([]byte("--b\r\n\r\n\r\n--b--"), "b")
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		if boundary == "" || len(body) > 1<<16 {
			return
		}
		got, err := splitMultipart(body, boundary)
		if err != nil {
			return
		}
		want, err := stdParts(body, boundary)
		if err != nil {
			t.Fatalf("accepted what mime/multipart refuses (%v): %q", err, body)
		}
		sameParts(t, "fuzz", got, want)
	})
}
