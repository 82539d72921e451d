package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/phototest"
)

// processAll runs the whole pipeline with a private admission.
func processAll(upload []byte) (Processed, error) {
	s := &Service{adm: newAdmission(2, DefaultDecodeBudget, 8, 10*time.Second)}
	return s.Process(context.Background(), upload)
}

// manyScans is a JPEG header followed by n empty progressive scans.
func manyScans(tb testing.TB, n int) []byte {
	tb.Helper()
	base := mustJPEG(tb, quadrants(120, 120), 80)
	out := append([]byte{}, base[:len(base)-2]...) // drop EOI
	for range n {
		out = append(out, 0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x00)
	}
	return append(out, 0xFF, 0xD9)
}

func TestBadUploads(t *testing.T) {
	t.Parallel()
	good := mustJPEG(t, quadrants(400, 300), 85)
	bigPNG := phototest.PNGBomb(20_000)
	tests := []struct {
		name string
		data []byte
		code domain.Code
		want string // in the message
	}{
		{"zero bytes", nil, domain.CodeInvalid, "empty"},
		{"over 15 MB", append(append([]byte{}, good...), make([]byte, MaxUploadBytes)...), domain.CodeTooLarge, "at most 15 MB"},
		{"truncated JPEG", good[:len(good)/2], domain.CodeInvalid, "truncated"},
		{"truncated JPEG header", good[:40], domain.CodeInvalid, "truncated"},
		{"JPEG magic then garbage", append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04}, bytes.Repeat([]byte{0x42}, 500)...), domain.CodeInvalid, "corrupt"},
		{"ZIP named .jpg", append([]byte("PK\x03\x04\x14\x00\x00\x00"), make([]byte, 200)...), domain.CodeUnsupported, "ZIP archive"},
		{"HTML with a JPEG inside", append([]byte("<html><script>alert(1)</script>"), good...), domain.CodeUnsupported, "text"},
		{"GIF", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), domain.CodeUnsupported, "GIF"},
		{"HEIC", append([]byte("\x00\x00\x00\x18ftypheic"), make([]byte, 100)...), domain.CodeUnsupported, "HEIC"},
		{"unknown bytes", bytes.Repeat([]byte{0x00, 0x01}, 100), domain.CodeUnsupported, "not an image"},
		{"1 x 100,000 px", phototest.PNGHeaderOnly(1, 100_000), domain.CodeInvalid, "1 × 100,000"},
		{"100,000 x 1 px", phototest.PNGHeaderOnly(100_000, 1), domain.CodeInvalid, "at most 20 times"},
		{"PNG bomb 20,000 x 20,000", bigPNG, domain.CodeInvalid, "400 megapixels"},
		{"header claims 65,535 x 65,535", phototest.PNGHeaderOnly(65_535, 65_535), domain.CodeInvalid, "at most 40 megapixels"},
		{"too small", mustPNG(t, quadrants(60, 60)), domain.CodeInvalid, "at least 100 pixels"},
		{"PNG header without pixels", phototest.PNGHeaderOnly(300, 200), domain.CodeInvalid, ""},
		{"WebP header only", webpSolid(200, 150, color.NRGBA{1, 2, 3, 255}, 0)[:24], domain.CodeInvalid, ""},
		{"too many progressive scans", manyScans(t, maxJPEGScans+1), domain.CodeInvalid, "progressive scans"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := processAll(tt.data)
			var de *domain.Error
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want a *domain.Error", err)
			}
			if de.Code != tt.code || !strings.Contains(de.Message, tt.want) {
				t.Fatalf("got %s %q, want %s containing %q", de.Code, de.Message, tt.code, tt.want)
			}
			if de.Fields["photo"] != de.Message {
				t.Errorf("Fields[photo] = %q, want the message", de.Fields["photo"])
			}
		})
	}
}

// TestBombDoesNotAllocate: the dimensions are refused from the header, so
// a file that would decode to 50 MB and more allocates almost nothing.
func TestBombDoesNotAllocate(t *testing.T) {
	bomb := phototest.PNGBomb(20_000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := inspect(bomb)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("the bomb was accepted")
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Fatalf("inspecting the bomb allocated %d bytes; want under 1 MiB", got)
	}
}

func TestSizes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		w, h  int
		sizes [numSizes][2]int
	}{
		{"landscape, no box step", 2500, 1000, [numSizes][2]int{{320, 128}, {960, 384}, {1920, 768}}},
		{"wide, box step", 4000, 400, [numSizes][2]int{{320, 32}, {960, 96}, {1920, 192}}},
		{"portrait", 1000, 2500, [numSizes][2]int{{128, 320}, {384, 960}, {1000, 2500 * 1000 / 2500}}},
		{"small is not enlarged", 300, 200, [numSizes][2]int{{300, 200}, {300, 200}, {300, 200}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := processAll(mustJPEG(t, quadrants(tt.w, tt.h), 85))
			if err != nil {
				t.Fatal(err)
			}
			for s, v := range p.Variants {
				want := tt.sizes[s]
				if tt.name == "portrait" && Size(s) == Large {
					want = [2]int{768, 1920}
				}
				if v.Width != want[0] || v.Height != want[1] {
					t.Errorf("size %d: %d×%d, want %d×%d", s, v.Width, v.Height, want[0], want[1])
				}
				cfg, err := jpeg.DecodeConfig(bytes.NewReader(v.Data))
				if err != nil || cfg.Width != v.Width || cfg.Height != v.Height {
					t.Errorf("size %d: file is %d×%d (%v), recorded %d×%d", s, cfg.Width, cfg.Height, err, v.Width, v.Height)
				}
				if !ValidName(v.Name) {
					t.Errorf("size %d: name %q is not a content address", s, v.Name)
				}
			}
		})
	}
}

// near reports whether two colours differ by at most 40 per channel, which
// JPEG's loss stays well within on flat areas.
func near(a color.Color, b color.RGBA) bool {
	r, g, bl, _ := a.RGBA()
	d := func(x uint32, y uint8) bool { v := int(x>>8) - int(y); return v > -40 && v < 40 }
	return d(r, b.R) && d(g, b.G) && d(bl, b.B)
}

// TestOrientation: for each EXIF orientation the served image is upright:
// the corner a camera recorded at each position is found where the
// orientation says it belongs, and sides swap for 5-8.
func TestOrientation(t *testing.T) {
	t.Parallel()
	// What is shown at the top-left, top-right and bottom-left corners.
	want := map[int][3]color.RGBA{
		1: {colTL, colTR, colBL},
		2: {colTR, colTL, colBR},
		3: {colBR, colBL, colTR},
		4: {colBL, colBR, colTL},
		5: {colTL, colBL, colTR},
		6: {colBL, colTL, colBR},
		7: {colBR, colTR, colBL},
		8: {colTR, colBR, colTL},
	}
	src := mustJPEG(t, quadrants(400, 200), 90)
	for o := 1; o <= 8; o++ {
		p, err := processAll(phototest.WithMetadata(src, o))
		if err != nil {
			t.Fatalf("orientation %d: %v", o, err)
		}
		img, err := jpeg.Decode(bytes.NewReader(p.Variants[Medium].Data))
		if err != nil {
			t.Fatal(err)
		}
		b := img.Bounds()
		if (o >= 5) != (b.Dx() < b.Dy()) {
			t.Errorf("orientation %d: output is %v", o, b)
		}
		w, h := b.Dx(), b.Dy()
		corners := [3]image.Point{{w / 8, h / 8}, {w - w/8, h / 8}, {w / 8, h - h/8}}
		for i, pt := range corners {
			if got := img.At(pt.X, pt.Y); !near(got, want[o][i]) {
				t.Errorf("orientation %d: corner %d is %v, want %v", o, i, got, want[o][i])
			}
		}
	}
}

// TestMetadataStripped: nothing of the EXIF block (GPS included) or of a
// comment survives in any served size.
func TestMetadataStripped(t *testing.T) {
	t.Parallel()
	up := phototest.WithMetadata(mustJPEG(t, quadrants(640, 480), 90), 1)
	for _, marker := range []string{phototest.SecretDescription, phototest.SecretGPS, phototest.SecretComment} {
		if !bytes.Contains(up, []byte(marker)) {
			t.Fatalf("the upload lacks %q: the test proves nothing", marker)
		}
	}
	p, err := processAll(up)
	if err != nil {
		t.Fatal(err)
	}
	for s, v := range p.Variants {
		for _, marker := range []string{phototest.SecretDescription, phototest.SecretGPS, phototest.SecretComment, "Exif", "GPS"} {
			if bytes.Contains(v.Data, []byte(marker)) {
				t.Errorf("size %d contains %q", s, marker)
			}
		}
		if bytes.Contains(v.Data, []byte{0xFF, 0xE1}) {
			t.Errorf("size %d has an APP1 segment", s)
		}
	}
}

// TestPolyglot: a JPEG with a ZIP archive (or a script) appended is
// accepted as the picture it is, and what is served carries none of the
// rest.
func TestPolyglot(t *testing.T) {
	t.Parallel()
	payload := []byte("PK\x03\x04<script>alert('polyglot')</script>")
	up := append(mustJPEG(t, quadrants(300, 300), 85), payload...)
	p, err := processAll(up)
	if err != nil {
		t.Fatal(err)
	}
	for s, v := range p.Variants {
		if bytes.Contains(v.Data, []byte("PK\x03\x04")) || bytes.Contains(v.Data, []byte("<script>")) {
			t.Errorf("size %d carries the appended payload", s)
		}
	}
}

func TestPNGAndWebP(t *testing.T) {
	t.Parallel()
	t.Run("transparent PNG on white", func(t *testing.T) {
		img := image.NewNRGBA(image.Rect(0, 0, 200, 200)) // fully transparent
		p, err := processAll(mustPNG(t, img))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := jpeg.Decode(bytes.NewReader(p.Variants[Thumb].Data))
		if got := out.At(100, 100); !near(got, color.RGBA{255, 255, 255, 255}) {
			t.Fatalf("transparent pixel became %v, want white", got)
		}
	})
	t.Run("PNG with eXIf orientation", func(t *testing.T) {
		raw := mustPNG(t, quadrants(300, 150))
		// Insert eXIf after IHDR (8 + 25 bytes).
		up := append(append(append([]byte{}, raw[:33]...), phototest.PNGChunk("eXIf", phototest.TIFF(6))...), raw[33:]...)
		p, err := processAll(up)
		if err != nil {
			t.Fatal(err)
		}
		if v := p.Variants[Large]; v.Width != 150 || v.Height != 300 {
			t.Fatalf("rotated PNG is %d×%d, want 150×300", v.Width, v.Height)
		}
	})
	t.Run("lossless WebP", func(t *testing.T) {
		c := color.NRGBA{200, 120, 40, 255}
		p, err := processAll(webpSolid(500, 250, c, 0))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := jpeg.Decode(bytes.NewReader(p.Variants[Thumb].Data))
		if b := out.Bounds(); b.Dx() != 320 || b.Dy() != 160 || !near(out.At(10, 10), color.RGBA{200, 120, 40, 255}) {
			t.Fatalf("WebP thumb %v, colour %v", b, out.At(10, 10))
		}
	})
	t.Run("WebP with EXIF orientation", func(t *testing.T) {
		p, err := processAll(webpSolid(500, 250, color.NRGBA{1, 2, 3, 255}, 8))
		if err != nil {
			t.Fatal(err)
		}
		if v := p.Variants[Large]; v.Width != 250 || v.Height != 500 {
			t.Fatalf("rotated WebP is %d×%d, want 250×500", v.Width, v.Height)
		}
	})
}

func TestTIFFOrientation(t *testing.T) {
	t.Parallel()
	be := func(o uint16) []byte {
		b := []byte("MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01")
		return append(binary.BigEndian.AppendUint16(b, o), 0, 0, 0, 0, 0, 0)
	}
	tests := []struct {
		name string
		b    []byte
		want int
	}{
		{"little-endian 6", phototest.TIFF(6), 6},
		{"big-endian 8", be(8), 8},
		{"out of range", be(9), 1},
		{"none", phototest.TIFF(0), 1},
		{"empty", nil, 1},
		{"bad byte order", []byte("XX\x00*\x00\x00\x00\x08"), 1},
		{"IFD offset past the end", []byte("II*\x00\xff\xff\xff\x7f"), 1},
		{"entry count past the end", []byte("II*\x00\x08\x00\x00\x00\xff\xff"), 1},
	}
	for _, tt := range tests {
		if got := tiffOrientation(tt.b); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestAdmission(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("a waiter times out", func(t *testing.T) {
		a := newAdmission(1, 100, 4, 20*time.Millisecond)
		release, err := a.acquire(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		if _, err := a.acquire(ctx, 10); !errors.Is(err, errBusy) {
			t.Fatalf("acquire with the slot taken: %v, want busy", err)
		}
	})
	t.Run("beyond the queue is refused at once", func(t *testing.T) {
		a := newAdmission(1, 100, 1, time.Minute)
		release, err := a.acquire(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		waiter := make(chan error, 1)
		go func() {
			r, err := a.acquire(ctx, 10)
			if err == nil {
				r()
			}
			waiter <- err
		}()
		deadline := time.Now().Add(10 * time.Second)
		for a.waiting.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		start := time.Now()
		if _, err := a.acquire(ctx, 10); !errors.Is(err, errBusy) {
			t.Fatalf("acquire beyond the queue: %v, want busy", err)
		}
		// Not the minute a waiter may wait: it never queued.
		if d := time.Since(start); d > 20*time.Second {
			t.Fatalf("refusal took %v", d)
		}
		release()
		if err := <-waiter; err != nil {
			t.Fatalf("the queued waiter: %v", err)
		}
	})
	t.Run("memory budget", func(t *testing.T) {
		a := newAdmission(4, 100, 4, 20*time.Millisecond)
		r1, err := a.acquire(ctx, 60)
		if err != nil {
			t.Fatal(err)
		}
		// 60 + 60 > 100: the second waits, then is refused.
		if _, err := a.acquire(ctx, 60); !errors.Is(err, errBusy) {
			t.Fatalf("over the budget: %v, want busy", err)
		}
		r1()
		// One decode larger than the whole budget runs alone.
		r2, err := a.acquire(ctx, 1000)
		if err != nil {
			t.Fatalf("a decode larger than the budget: %v", err)
		}
		r2()
	})
	var de *domain.Error
	if !errors.As(errBusy, &de) || de.Code != domain.CodeUnavailable || de.Extra["retry_after"] == nil {
		t.Fatalf("busy error %+v lacks a Retry-After", errBusy)
	}
}

// TestBilinear: a flat image stays flat, a horizontal ramp stays a ramp
// running the same way, and the corners keep their colours.
func TestBilinear(t *testing.T) {
	t.Parallel()
	src := image.NewRGBA(image.Rect(0, 0, 300, 200))
	for y := range 200 {
		for x := range 300 {
			src.SetRGBA(x, y, color.RGBA{uint8(x * 255 / 299), 90, uint8(y), 255})
		}
	}
	dst := bilinear(src, 190, 127)
	if b := dst.Bounds(); b.Dx() != 190 || b.Dy() != 127 {
		t.Fatalf("size %v", b)
	}
	prev := -1
	for x := range 190 {
		c := dst.RGBAAt(x, 60)
		if int(c.R) < prev || c.G != 90 || c.A != 255 {
			t.Fatalf("pixel %d = %v after red %d", x, c, prev)
		}
		prev = int(c.R)
	}
	if l, r := dst.RGBAAt(0, 0).R, dst.RGBAAt(189, 0).R; l > 2 || r < 253 {
		t.Fatalf("edges: red %d at the left, %d at the right", l, r)
	}
}
