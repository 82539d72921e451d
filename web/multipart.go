package web

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// Bounds on a multipart body besides its size, which readBody bounds.
const (
	maxFormParts      = 100
	maxFormFieldBytes = 64 << 10
)

// multipartForm is a multipart/form-data body, parsed from bytes already
// read: text fields, and the contents of the file parts of one field.
type multipartForm struct {
	values url.Values
	files  [][]byte
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
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return form, nil
		}
		if err != nil {
			return form, domain.Errorf(codeMalformed, "The multipart body is malformed: %s.", truncate(err.Error(), 80))
		}
		if n >= maxFormParts {
			return form, domain.Errorf(codeMalformed, "The form has more than %d parts.", maxFormParts)
		}
		name := part.FormName()
		if name == fileField {
			// The body is in memory already and bounded by limit.
			data, err := io.ReadAll(part)
			if err != nil {
				return form, domain.Errorf(codeMalformed, "The multipart body is malformed: %s.", truncate(err.Error(), 80))
			}
			// A browser sends an empty, nameless part when no file was
			// chosen.
			if len(data) == 0 && part.FileName() == "" {
				continue
			}
			if len(form.files) >= maxFiles {
				msg := "Send at most " + pluralPhotos(maxFiles) + " at once."
				return form, domain.Invalid(fileField, msg)
			}
			form.files = append(form.files, data)
			continue
		}
		v, err := io.ReadAll(io.LimitReader(part, maxFormFieldBytes+1))
		if err != nil {
			return form, domain.Errorf(codeMalformed, "The multipart body is malformed: %s.", truncate(err.Error(), 80))
		}
		if len(v) > maxFormFieldBytes {
			return form, domain.Invalid(name, "The field "+truncate(name, 40)+" is too long.")
		}
		form.values.Add(name, strings.Clone(string(v)))
	}
}

// pluralPhotos says "1 photo" or "N photos".
func pluralPhotos(n int) string {
	if n == 1 {
		return "1 photo"
	}
	return strconv.Itoa(n) + " photos"
}
