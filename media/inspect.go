package media

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/webp"

	"github.com/gavel-auctions/gavel/domain"
)

// Upload limits. Dimensions come from the file's header, read before any
// pixel is decoded, so a decompression bomb is refused before it allocates.
const (
	// MaxUploadBytes is the largest file accepted: 15 MiB.
	MaxUploadBytes = 15 << 20
	// MaxPixels is the largest image accepted, in pixels (40 megapixels).
	MaxPixels = 40_000_000
	// MaxAspect is how many times longer than wide a photo may be; a
	// panorama fits, a 1 × 100,000 strip does not.
	MaxAspect = 20
	// MinSide is the shortest side accepted, in pixels.
	MinSide = 100
	// maxJPEGScans bounds a progressive JPEG's scans: each scan walks every
	// block of the image, so thousands of tiny scans make a small file
	// take minutes to decode. Encoders write about 10.
	maxJPEGScans = 200
)

// format is an accepted image type, detected from the bytes.
type format string

const (
	formatJPEG format = "jpeg"
	formatPNG  format = "png"
	formatWebP format = "webp"
)

// header is what inspect learns from a file without decoding its pixels.
type header struct {
	format      format
	width       int
	height      int
	orientation int   // EXIF orientation, 1-8
	cost        int64 // estimated bytes the decode will allocate
	// truncated: a JPEG whose marker structure runs off the end of the
	// file; other formats' decoders report truncation themselves.
	truncated bool
}

// photoError is a refusal of one upload. Fields["photo"] carries the
// message too, so a form shows it beside its file input.
func photoError(code domain.Code, format string, args ...any) *domain.Error {
	msg := fmt.Sprintf(format, args...)
	return &domain.Error{Code: code, Message: msg, Fields: map[string]string{"photo": msg}}
}

// inspect detects the type of data from its bytes and checks the limits
// against its header. It never decodes pixels.
func inspect(data []byte) (header, error) {
	var h header
	if len(data) == 0 {
		return h, photoError(domain.CodeInvalid, "The file is empty (0 bytes). Choose a JPEG, PNG or WebP photo.")
	}
	if len(data) > MaxUploadBytes {
		return h, photoError(domain.CodeTooLarge, "The photo is %s; photos may be at most 15 MB.", megabytes(len(data)))
	}
	h.format = sniff(data)
	if h.format == "" {
		return h, photoError(domain.CodeUnsupported, "%s Upload a JPEG, PNG or WebP image.", describeUnsupported(data))
	}
	var (
		cfg image.Config
		err error
	)
	h.orientation = 1
	switch h.format {
	case formatJPEG:
		var scan jpegInfo
		scan, err = scanJPEG(data)
		if err != nil {
			return h, err
		}
		h.orientation, h.truncated = scan.orientation, scan.truncated
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
		if err == nil {
			h.cost = jpegCost(cfg, scan.progressive)
		}
	case formatPNG:
		h.orientation = pngOrientation(data)
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
		if err == nil {
			h.cost = int64(cfg.Width) * int64(cfg.Height) * bytesPerPixel(cfg.ColorModel)
		}
	case formatWebP:
		h.orientation = webpOrientation(data)
		cfg, err = webp.DecodeConfig(bytes.NewReader(data))
		// The lossless decoder works on 32-bit pixels and keeps a copy for
		// its transforms; the lossy one needs less. Assume the larger.
		h.cost = int64(cfg.Width) * int64(cfg.Height) * 8
	}
	if err != nil {
		return h, corrupt(h, err)
	}
	h.width, h.height = cfg.Width, cfg.Height
	return h, checkDimensions(h.width, h.height)
}

// checkDimensions applies the pixel, aspect and size limits.
func checkDimensions(w, hgt int) error {
	if w <= 0 || hgt <= 0 {
		return photoError(domain.CodeInvalid, "The image has no pixels (%d × %d).", w, hgt)
	}
	if px := int64(w) * int64(hgt); px > MaxPixels {
		return photoError(domain.CodeInvalid,
			"The image is %s × %s pixels (%.0f megapixels); photos may have at most 40 megapixels. Resize it and try again.",
			thousands(w), thousands(hgt), float64(px)/1e6)
	}
	long, short := max(w, hgt), min(w, hgt)
	if long > MaxAspect*short {
		return photoError(domain.CodeInvalid,
			"The image is %s × %s pixels; a photo may be at most %d times longer than it is wide. Crop it and try again.",
			thousands(w), thousands(hgt), MaxAspect)
	}
	if short < MinSide {
		return photoError(domain.CodeInvalid,
			"The image is only %s × %s pixels; photos must be at least %d pixels on each side.",
			thousands(w), thousands(hgt), MinSide)
	}
	return nil
}

// corrupt reports a file whose header or data the decoder refused, as
// truncated when it evidently is.
func corrupt(h header, err error) *domain.Error {
	cut := h.truncated
	if h.format != formatJPEG {
		// Go's JPEG decoder says "unexpected EOF" after skipping garbage
		// too, so only the marker scan decides for JPEG.
		cut = errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
	}
	if cut {
		return photoError(domain.CodeInvalid, "The image is truncated: the file ends before the picture does. Upload the complete file.")
	}
	return photoError(domain.CodeInvalid, "The image is corrupt and cannot be read. Re-save it as a JPEG, PNG or WebP and try again.")
}

// sniff names the accepted format that data starts with, or "".
func sniff(data []byte) format {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return formatJPEG
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return formatPNG
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return formatWebP
	}
	return ""
}

// describeUnsupported names a refused file's real type when it is a common
// one, so the message tells the person what they actually sent.
func describeUnsupported(data []byte) string {
	has := func(p string) bool { return bytes.HasPrefix(data, []byte(p)) }
	switch {
	case has("PK\x03\x04") || has("PK\x05\x06"):
		return "This file is a ZIP archive, not a photo, whatever its name says."
	case has("GIF87a") || has("GIF89a"):
		return "GIF images are not accepted."
	case has("BM"):
		return "BMP images are not accepted."
	case has("II*\x00") || has("MM\x00*"):
		return "TIFF images are not accepted."
	case has("%PDF"):
		return "This file is a PDF document, not a photo."
	case len(data) >= 12 && string(data[4:8]) == "ftyp":
		switch string(data[8:12]) {
		case "heic", "heix", "hevc", "heim", "heis", "mif1", "msf1":
			return "HEIC photos (the iPhone default) are not accepted; export the photo as JPEG."
		case "avif", "avis":
			return "AVIF images are not accepted."
		}
		return "Video and other ISO media files are not accepted."
	}
	trimmed := bytes.TrimLeft(data[:min(len(data), 512)], " \t\r\n\ufeff")
	if len(trimmed) > 0 && trimmed[0] == '<' {
		return "This file is text (HTML, SVG or XML), not a photo."
	}
	return "This file is not an image Gavel can read."
}

// jpegCost estimates the bytes decoding a JPEG allocates: the planes (at
// most 3 bytes a pixel) and, for a progressive file, 4-byte coefficients
// of up to 3 full-size components kept until the last scan.
func jpegCost(cfg image.Config, progressive bool) int64 {
	px := int64(cfg.Width) * int64(cfg.Height)
	if progressive {
		return px * 15
	}
	return px * 3
}

// bytesPerPixel is the size of a decoded PNG pixel of model m.
func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4
}

// jpegInfo is what scanJPEG finds in a JPEG's marker structure.
type jpegInfo struct {
	orientation int
	progressive bool
	scans       int
	truncated   bool // the data ends inside a segment or scan, before EOI
}

// scanJPEG walks a JPEG's markers: the EXIF orientation of the first APP1
// Exif segment, whether the frame is progressive, and the number of scans
// (refused above maxJPEGScans). It stops quietly at a structure it does
// not understand; the decoder then reports the file's real problem.
func scanJPEG(data []byte) (jpegInfo, error) {
	info := jpegInfo{orientation: 1}
	seenExif := false
	i := 2
	for {
		if i+1 >= len(data) {
			info.truncated = true
			return info, nil
		}
		if data[i] != 0xFF {
			return info, nil
		}
		m := data[i+1]
		switch {
		case m == 0xFF: // fill byte
			i++
			continue
		case m == 0xD9: // EOI
			return info, nil
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7): // no length
			i += 2
			continue
		}
		if i+4 > len(data) {
			info.truncated = true
			return info, nil
		}
		n := int(data[i+2])<<8 | int(data[i+3])
		if n < 2 {
			return info, nil
		}
		if i+2+n > len(data) {
			info.truncated = true
			return info, nil
		}
		seg := data[i+4 : i+2+n]
		switch {
		case m == 0xE1 && !seenExif && bytes.HasPrefix(seg, exifHeader):
			seenExif = true
			info.orientation = tiffOrientation(seg[len(exifHeader):])
		case m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE: // progressive SOFs
			info.progressive = true
		}
		i += 2 + n
		if m != 0xDA { // SOS: entropy-coded data follows
			continue
		}
		info.scans++
		if info.scans > maxJPEGScans {
			return info, photoError(domain.CodeInvalid,
				"The JPEG has more than %d progressive scans, which would take too long to decode. Re-save it as a standard JPEG.", maxJPEGScans)
		}
		// Skip to the next marker: 0xFF followed by neither a stuffed zero
		// nor a restart marker.
		for i+1 < len(data) {
			if data[i] == 0xFF && data[i+1] != 0 && (data[i+1] < 0xD0 || data[i+1] > 0xD7) {
				break
			}
			i++
		}
	}
}

// megabytes formats a size for a person, e.g. "17.2 MB".
func megabytes(n int) string {
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

// thousands formats n with comma separators, e.g. 100,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
