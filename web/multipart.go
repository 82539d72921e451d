package web

import (
	"bufio"
	"bytes"
	"mime"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// Bounds on a multipart body besides its size, which readBody bounds.
const (
	maxFormParts       = 100
	maxFormFieldBytes  = 64 << 10
	maxPartHeaderBytes = 8 << 10
)

// multipartForm is a multipart/form-data body, parsed from bytes already
// read: text fields, and the contents of the file parts of one field.
type multipartForm struct {
	values url.Values
	// files are slices of the request body, not copies: a photo waiting
	// for a decode slot costs its body once, not twice. They are valid
	// until the handler returns.
	files [][]byte
}

// get returns a text field's first value, as c.FormValue would.
func (f multipartForm) get(name string) string { return f.values.Get(name) }

// isMultipart reports whether the request declares a multipart form.
func isMultipart(c *fiber.Ctx) bool {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	return err == nil && mt == fiber.MIMEMultipartForm
}

// readMultipart reads the body (at most limit bytes, uncompressed) and
// parses it as multipart/form-data, keeping at most maxFiles non-empty
// parts of fileField. It never touches Fiber's own multipart parsing,
// which would undo a Content-Encoding without bound and spill parts to
// temporary files.
func readMultipart(c *fiber.Ctx, limit int, fileField string, maxFiles int) (multipartForm, error) {
	form := multipartForm{values: url.Values{}}
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEMultipartForm || params["boundary"] == "" {
		return form, domain.Errorf(codeUnsupported,
			"Send the upload as multipart/form-data, with the file in the form field %q.", fileField)
	}
	body, err := readBody(c, limit)
	if err != nil {
		return form, err
	}
	parts, err := splitMultipart(body, params["boundary"])
	if err != nil {
		return form, err
	}
	for _, p := range parts {
		if p.name == fileField {
			// A browser sends an empty, nameless part when no file was
			// chosen.
			if len(p.data) == 0 && p.filename == "" {
				continue
			}
			if len(form.files) >= maxFiles {
				return form, domain.Invalid(fileField, "Send at most "+pluralPhotos(maxFiles)+" at once.")
			}
			form.files = append(form.files, p.data)
			continue
		}
		if len(p.data) > maxFormFieldBytes {
			return form, domain.Invalid(p.name, "The field "+truncate(p.name, 40)+" is too long.")
		}
		form.values.Add(p.name, string(p.data))
	}
	return form, nil
}

// formPart is one part of a multipart body; data is a slice of the body.
type formPart struct {
	name, filename string
	data           []byte
}

// malformed is the refusal of a multipart body that does not parse.
func malformed(why string) error {
	return domain.Errorf(codeMalformed, "The multipart body is malformed: %s.", why)
}

// splitMultipart splits a multipart/form-data body (RFC 7578) into its
// parts without copying their contents, which mime/multipart cannot do.
// Parts without a form name are skipped; a missing closing delimiter, an
// oversize header block or more than maxFormParts parts (named or not) is
// malformed. It accepts CRLF line breaks only, as every browser and HTTP
// client sends. FuzzSplitMultipart checks it against mime/multipart.
func splitMultipart(body []byte, boundary string) ([]formPart, error) {
	if len(boundary) > 70 {
		return nil, malformed("the boundary is longer than 70 characters")
	}
	dash := []byte("--" + boundary)
	delim := []byte("\r\n--" + boundary)
	rest, err := afterPreamble(body, dash)
	if err != nil {
		return nil, err
	}
	var parts []formPart
	for n := 0; ; n++ {
		if bytes.HasPrefix(rest, []byte("--")) {
			return parts, nil // the closing delimiter; the epilogue is ignored
		}
		// Transport padding (spaces, tabs) may follow a delimiter;
		// delimiterEnds has checked that a line break comes next.
		rest = bytes.TrimLeft(rest, " \t")[2:]
		if n >= maxFormParts {
			return nil, malformed("it has more than " + strconv.Itoa(maxFormParts) + " parts")
		}
		end := indexDelimiter(rest, delim)
		if end < 0 {
			return nil, malformed("it ends without its closing boundary")
		}
		part, err := parsePart(rest[:end])
		if err != nil {
			return nil, err
		}
		if part.name != "" {
			parts = append(parts, part)
		}
		rest = rest[end+len(delim):]
	}
}

// afterPreamble returns what follows the first delimiter, which starts
// the body or any line of the preamble. A delimiter line that ends in a
// bare LF is refused rather than skipped: other parsers would take it as
// the first delimiter.
func afterPreamble(body, dash []byte) ([]byte, error) {
	for line := body; ; {
		if after, ok := bytes.CutPrefix(line, dash); ok {
			if delimiterEnds(after) {
				return after, nil
			}
			if t := bytes.TrimLeft(after, " \t"); bytes.HasPrefix(t, []byte("\n")) {
				return nil, malformed("its lines must end in CRLF")
			}
		}
		i := bytes.IndexByte(line, '\n')
		if i < 0 {
			return nil, malformed("the boundary does not occur in it")
		}
		line = line[i+1:]
	}
}

// indexDelimiter returns the index in b of the first delim ("\r\n--" and
// the boundary) that ends a delimiter line, or -1. The same bytes followed
// by anything else are content, as in mime/multipart.
func indexDelimiter(b, delim []byte) int {
	for off := 0; ; {
		i := bytes.Index(b[off:], delim)
		if i < 0 {
			return -1
		}
		if delimiterEnds(b[off+i+len(delim):]) {
			return off + i
		}
		off += i + 1
	}
}

// delimiterEnds reports whether after, the bytes that follow a boundary,
// complete a delimiter line: "--" (the last) or spaces and tabs, each then
// followed by a line break (the last may end the body instead).
func delimiterEnds(after []byte) bool {
	last := bytes.HasPrefix(after, []byte("--"))
	if last {
		after = after[2:]
	}
	after = bytes.TrimLeft(after, " \t")
	return bytes.HasPrefix(after, []byte("\r\n")) || (last && len(after) == 0)
}

// parsePart reads one part: its header block, then its content.
func parsePart(raw []byte) (formPart, error) {
	var p formPart
	if data, ok := bytes.CutPrefix(raw, []byte("\r\n")); ok {
		return formPart{data: data}, nil // no headers, so no name: skipped
	}
	head, data, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		return p, malformed("a part has no end to its headers")
	}
	if len(head) > maxPartHeaderBytes {
		return p, malformed("a part's headers are too long")
	}
	// A copy: head is a slice of the request body, which append would
	// write into.
	block := bytes.NewReader(append(bytes.Clone(head), "\r\n\r\n"...))
	br := bufio.NewReader(block)
	hdr, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil {
		return p, malformed(truncate(err.Error(), 80))
	}
	// A blank line ending in a bare LF inside head would end the headers
	// early, and the content would start where no other parser starts it.
	if br.Buffered() > 0 || block.Len() > 0 {
		return p, malformed("a part's headers contain a blank line")
	}
	if enc := strings.TrimSpace(hdr.Get("Content-Transfer-Encoding")); enc != "" && !strings.EqualFold(enc, "binary") &&
		!strings.EqualFold(enc, "8bit") && !strings.EqualFold(enc, "7bit") {
		return p, malformed("Content-Transfer-Encoding " + truncate(enc, 20) + " is not accepted")
	}
	if cd := hdr.Get("Content-Disposition"); cd != "" {
		disp, params, err := mime.ParseMediaType(cd)
		if err != nil || disp != "form-data" {
			return p, malformed("a part's Content-Disposition is not form-data")
		}
		p.name, p.filename = params["name"], params["filename"]
	}
	p.data = data
	return p, nil
}

// pluralPhotos says "1 photo" or "N photos".
func pluralPhotos(n int) string {
	if n == 1 {
		return "1 photo"
	}
	return strconv.Itoa(n) + " photos"
}
