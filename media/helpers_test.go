package media

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/gavel-auctions/gavel/internal/phototest"
)

// Quadrant colours of the test image: orientation tests find each corner
// again in the output.
var (
	colTL = color.RGBA{220, 30, 30, 255}   // red
	colTR = color.RGBA{30, 200, 30, 255}   // green
	colBL = color.RGBA{30, 30, 220, 255}   // blue
	colBR = color.RGBA{240, 240, 240, 255} // white
)

// quadrants draws a w×h image with a distinct colour in each quadrant.
func quadrants(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := colTL
			switch {
			case x >= w/2 && y < h/2:
				c = colTR
			case x < w/2 && y >= h/2:
				c = colBL
			case x >= w/2 && y >= h/2:
				c = colBR
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func mustJPEG(tb testing.TB, img image.Image, quality int) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func mustPNG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// bitWriter writes bits least significant first, as VP8L reads them.
type bitWriter struct {
	buf  []byte
	nbit uint
}

func (w *bitWriter) write(v uint32, n uint) {
	for i := uint(0); i < n; i++ {
		if w.nbit%8 == 0 {
			w.buf = append(w.buf, 0)
		}
		w.buf[len(w.buf)-1] |= byte((v>>i)&1) << (w.nbit % 8)
		w.nbit++
	}
}

// webpSolid encodes a w×h image of one colour as a lossless WebP: every
// prefix code has a single symbol, so the pixels take no bits at all. With
// o > 0 the file is an extended (VP8X) WebP with an EXIF chunk.
func webpSolid(w, h int, c color.NRGBA, o int) []byte {
	var bw bitWriter
	bw.buf = []byte{0x2f}
	bw.nbit = 8
	bw.write(uint32(w-1), 14)
	bw.write(uint32(h-1), 14)
	bw.write(0, 1) // alpha_is_used
	bw.write(0, 3) // version
	bw.write(0, 1) // no transform
	bw.write(0, 1) // no colour cache
	bw.write(0, 1) // no meta prefix codes
	for _, sym := range []uint8{c.G, c.R, c.B, c.A, 0} {
		bw.write(1, 1) // simple code
		bw.write(0, 1) // one symbol
		bw.write(1, 1) // 8-bit symbol
		bw.write(uint32(sym), 8)
	}
	chunk := func(id string, data []byte) []byte {
		out := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
		out = append(out, data...)
		if len(data)%2 == 1 {
			out = append(out, 0)
		}
		return out
	}
	var body []byte
	if o > 0 {
		x := []byte{0x08, 0, 0, 0} // EXIF flag
		x = append(x, byte(w-1), byte((w-1)>>8), byte((w-1)>>16), byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
		body = append(body, chunk("VP8X", x)...)
	}
	body = append(body, chunk("VP8L", bw.buf)...)
	if o > 0 {
		body = append(body, chunk("EXIF", phototest.TIFF(o))...)
	}
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(body)))...)
	out = append(out, "WEBP"...)
	return append(out, body...)
}
