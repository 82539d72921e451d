package media

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
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

// Markers the metadata tests look for in every output file.
const (
	secretDescription = "SECRET-DESCRIPTION-OF-THE-HOUSE"
	secretGPS         = "GPS-SECRET-LOCATION"
	secretComment     = "SECRET-JPEG-COMMENT"
)

// tiff builds a little-endian TIFF/EXIF block: IFD0 with the orientation
// (when o > 0), an image description and a pointer to a GPS IFD holding a
// latitude reference and a processing method, all recognisable strings.
func tiff(o int) []byte {
	le := binary.LittleEndian
	type entry struct {
		tag, typ uint16
		count    uint32
		value    uint32
	}
	var ifd0 []entry
	if o > 0 {
		ifd0 = append(ifd0, entry{0x0112, 3, 1, uint32(o)})
	}
	desc := append([]byte(secretDescription), 0)
	gpsMethod := []byte(secretGPS)
	// Layout: header(8) | IFD0 | desc | GPS IFD | gpsMethod.
	ifd0Size := 2 + 12*(len(ifd0)+2) + 4
	descOff := 8 + ifd0Size
	gpsOff := descOff + len(desc)
	gpsSize := 2 + 12*2 + 4
	methodOff := gpsOff + gpsSize
	ifd0 = append(ifd0, entry{0x010E, 2, uint32(len(desc)), uint32(descOff)}, entry{0x8825, 4, 1, uint32(gpsOff)})

	b := []byte("II*\x00")
	b = le.AppendUint32(b, 8)
	writeIFD := func(es []entry) {
		b = le.AppendUint16(b, uint16(len(es)))
		for _, e := range es {
			b = le.AppendUint16(b, e.tag)
			b = le.AppendUint16(b, e.typ)
			b = le.AppendUint32(b, e.count)
			b = le.AppendUint32(b, e.value)
		}
		b = le.AppendUint32(b, 0)
	}
	writeIFD(ifd0)
	b = append(b, desc...)
	writeIFD([]entry{{0x0001, 2, 2, uint32('N')}, {0x001B, 7, uint32(len(gpsMethod)), uint32(methodOff)}})
	return append(b, gpsMethod...)
}

// withMetadata inserts after a JPEG's SOI an APP1 Exif segment (see tiff)
// and a comment segment.
func withMetadata(jpg []byte, o int) []byte {
	seg := func(marker byte, body []byte) []byte {
		n := len(body) + 2
		return append([]byte{0xFF, marker, byte(n >> 8), byte(n)}, body...)
	}
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg(0xE1, append([]byte("Exif\x00\x00"), tiff(o)...))...)
	out = append(out, seg(0xFE, []byte(secretComment))...)
	return append(out, jpg[2:]...)
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
		body = append(body, chunk("EXIF", tiff(o))...)
	}
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(body)))...)
	out = append(out, "WEBP"...)
	return append(out, body...)
}
