package media

import (
	"bytes"
	"errors"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/phototest"
)

// FuzzProcess feeds arbitrary bytes through the whole upload path: it
// must never panic, refuse with a 4xx-class *domain.Error naming the
// problem, and, when it accepts, produce three JPEGs within their sizes.
func FuzzProcess(f *testing.F) {
	jpg := mustJPEG(f, quadrants(160, 120), 80)
	f.Add(jpg)
	f.Add(phototest.WithMetadata(jpg, 6))
	f.Add(mustPNG(f, quadrants(120, 160)))
	f.Add(webpSolid(200, 120, color.NRGBA{9, 8, 7, 255}, 0))
	f.Add(webpSolid(200, 120, color.NRGBA{9, 8, 7, 255}, 5))
	f.Add(phototest.PNGHeaderOnly(1, 100_000))
	f.Add(jpg[:len(jpg)/3])
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		// A mutated header easily claims a valid 40-megapixel picture that
		// takes seconds to process under the fuzzer's instrumentation; the
		// checks above and below are the same at any size.
		if h, err := inspect(data); err == nil && h.width*h.height > 1_000_000 {
			t.Skip("large valid image")
		}
		p, err := processAll(data)
		if err != nil {
			var de *domain.Error
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *domain.Error", err)
			}
			switch de.Code {
			case domain.CodeInvalid, domain.CodeTooLarge, domain.CodeUnsupported:
			default:
				t.Fatalf("refused with code %s: %v", de.Code, err)
			}
			if de.Message == "" {
				t.Fatal("a refusal without a message")
			}
			return
		}
		for s, v := range p.Variants {
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(v.Data))
			if err != nil {
				t.Fatalf("size %d is not a JPEG: %v", s, err)
			}
			if max(cfg.Width, cfg.Height) > sizeSpec[s].long {
				t.Fatalf("size %d is %d×%d", s, cfg.Width, cfg.Height)
			}
		}
	})
}

// FuzzTIFFOrientation: any EXIF block yields an orientation from 1 to 8.
func FuzzTIFFOrientation(f *testing.F) {
	f.Add(phototest.TIFF(6))
	f.Add(phototest.TIFF(0))
	f.Add([]byte("MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x08"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := tiffOrientation(b); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
		for _, wrap := range [][]byte{
			append([]byte("\x89PNG\r\n\x1a\n"), phototest.PNGChunk("eXIf", b)...),
			append([]byte("RIFF\x00\x00\x00\x00WEBPEXIF\x00\x00\x00\x00"), b...),
		} {
			if o := max(pngOrientation(wrap), webpOrientation(wrap)); o < 1 || o > 8 {
				t.Fatalf("orientation %d", o)
			}
		}
	})
}
