package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// money is an amount in minor units of a currency (cents for EUR) as it
// arrives in a JSON body. It decodes like int64, so a fraction, an exponent
// or a string is a type error that names the field; decodeJSON then checks
// the range of every money field of the body.
type money int64

var (
	moneyType    = reflect.TypeOf(money(0))
	moneyPtrType = reflect.TypeOf((*money)(nil))
)

// decodeJSON strictly decodes the request body, which must be one JSON
// object sent as application/json, into dst (a pointer to a struct). Every
// failure is a 4xx error whose message names the field at fault.
func decodeJSON(c *fiber.Ctx, dst any) error {
	if err := requireJSONContentType(c); err != nil {
		return err
	}
	body, err := readBody(c, DefaultBodyLimit)
	if err != nil {
		return err
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return domain.Errorf(codeMalformed, "The request body is empty; send a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	// UseNumber keeps any number decoded into an interface exact instead of
	// rounding it through float64.
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if trimmed[0] != '{' {
		return domain.Errorf(domain.CodeInvalid, "The request body must be a JSON object.")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return domain.Errorf(codeMalformed, "Unexpected data after the JSON object.")
	}
	return checkMoneyFields(dst)
}

// decodeOptionalJSON is decodeJSON for routes whose body may be omitted.
func decodeOptionalJSON(c *fiber.Ctx, dst any) error {
	body, err := readBody(c, DefaultBodyLimit)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return decodeJSON(c, dst)
}

// requireJSONContentType answers 415 unless the body is declared as JSON.
func requireJSONContentType(c *fiber.Ctx) error {
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err == nil && mt == fiber.MIMEApplicationJSON {
		if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
			return nil
		}
	}
	return domain.Errorf(codeUnsupported, "Send the body as JSON with Content-Type: application/json.")
}

// jsonError turns a decoding error into a 400 (not JSON at all) or a 422
// (JSON of the wrong shape) with a message a person can act on.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return domain.Errorf(codeMalformed, "Malformed JSON at byte %d: %s.", syn.Offset, syn.Error())
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return domain.Errorf(codeMalformed, "Malformed JSON: the body ends too early.")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return domain.Errorf(domain.CodeInvalid, "The request body must be a JSON object.")
		}
		typ.Field = jsonPath(typ.Field)
		msg := typeErrorMessage(typ)
		return &domain.Error{Code: domain.CodeInvalid, Message: msg, Fields: map[string]string{typ.Field: msg}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, uerr := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if uerr != nil {
			name = strings.TrimPrefix(err.Error(), "json: unknown field ")
		}
		msg := fmt.Sprintf("Unknown field %q.", name)
		return &domain.Error{Code: domain.CodeInvalid, Message: msg, Fields: map[string]string{name: "Unknown field."}}
	}
	return domain.Errorf(codeMalformed, "The body is not valid JSON.")
}

// jsonPath is a field's path as the client wrote it. encoding/json names
// a field of an embedded struct (feesBody) through the struct's Go name,
// "feesBody.buyers_premium"; the API's names are snake_case, so a segment
// with a capital letter is such a Go name and is dropped.
func jsonPath(field string) string {
	segs := strings.Split(field, ".")
	out := segs[:0]
	for _, s := range segs {
		if !strings.ContainsFunc(s, unicode.IsUpper) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return field
	}
	return strings.Join(out, ".")
}

// typeErrorMessage says what the field must be and what was sent, e.g.
// `"amount" must be a whole number of minor units (cents), got 12.5`.
func typeErrorMessage(e *json.UnmarshalTypeError) string {
	got := e.Value // "number 12.5", "string", "bool", "array", "object"
	if n, ok := strings.CutPrefix(got, "number "); ok {
		got = n
	} else {
		got = article(got)
	}
	t := e.Type
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == moneyType {
		if isInteger(got) {
			if strings.HasPrefix(got, "-") {
				return fmt.Sprintf("%q must not be negative, got %s", e.Field, got)
			}
			return fmt.Sprintf("%q is too large: at most %d minor units, got %s", e.Field, domain.MaxMoney, got)
		}
		return fmt.Sprintf("%q must be a whole number of minor units (cents), got %s", e.Field, got)
	}
	var want string
	switch t.Kind() {
	case reflect.String:
		want = "a string"
	case reflect.Bool:
		want = "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want = "a whole number"
	case reflect.Float32, reflect.Float64:
		want = "a number"
	case reflect.Slice, reflect.Array:
		want = "an array"
	default:
		want = "an object"
	}
	return fmt.Sprintf("%q must be %s, got %s", e.Field, want, got)
}

func article(kind string) string {
	switch kind {
	case "array", "object":
		return "an " + kind
	case "bool":
		return "a boolean"
	case "":
		return "something else"
	}
	return "a " + kind
}

func isInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// checkMoneyFields rejects negative amounts and amounts above
// domain.MaxMoney in every top-level money or *money field of dst.
func checkMoneyFields(dst any) error {
	v := reflect.ValueOf(dst)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	fields := map[string]string{}
	first := ""
	for i := range v.NumField() {
		f := v.Type().Field(i)
		fv := v.Field(i)
		if f.Type == moneyPtrType {
			if fv.IsNil() {
				continue
			}
			fv = fv.Elem()
		} else if f.Type != moneyType {
			continue
		}
		name := jsonName(f)
		amount := fv.Int()
		var msg string
		switch {
		case amount < 0:
			msg = fmt.Sprintf("%q must not be negative, got %d", name, amount)
		case amount > domain.MaxMoney:
			msg = fmt.Sprintf("%q is too large: at most %d minor units, got %d", name, domain.MaxMoney, amount)
		default:
			continue
		}
		fields[name] = msg
		if first == "" {
			first = msg
		}
	}
	if len(fields) == 0 {
		return nil
	}
	if len(fields) > 1 {
		first = "Please correct the highlighted fields."
	}
	return &domain.Error{Code: domain.CodeInvalid, Message: first, Fields: fields}
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" || name == "-" {
		return f.Name
	}
	return name
}

// parseTime parses an RFC 3339 time from a JSON body and returns it in UTC.
func parseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return time.Time{}, domain.Invalid(field,
			fmt.Sprintf("%q must be an RFC 3339 time such as 2026-01-02T15:04:05Z, got %q", field, s))
	}
	return t.UTC(), nil
}

// writeJSON answers with v as JSON.
func writeJSON(c *fiber.Ctx, status int, v any) error {
	return c.Status(status).JSON(v)
}
