// Package phototest builds hostile and metadata-laden image files for the
// tests of photo uploads (package media, and the end-to-end tests of
// cmd/gavel): decompression bombs, headers without pixels, EXIF blocks with
// GPS data. Only tests import it; internal/archtest checks that.
package phototest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
)

// Markers that WithMetadata and TIFF write, for tests to look for in
// every served file.
const (
	SecretDescription = "SECRET-DESCRIPTION-OF-THE-HOUSE"
	SecretGPS         = "GPS-SECRET-LOCATION"
	SecretComment     = "SECRET-JPEG-COMMENT"
)

// PNGChunk frames one PNG chunk with its CRC.
func PNGChunk(typ string, data []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// PNGBomb is a valid 1-bit greyscale PNG of side×side pixels, all zero: a
// few tens of kilobytes that decode to side² bytes and more.
func PNGBomb(side int) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(side))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(side))
	ihdr = append(ihdr, 1, 0, 0, 0, 0) // bit depth 1, greyscale
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression) // a valid level: no error
	row := make([]byte, 1+(side+7)/8)                      // filter byte + packed pixels
	for range side {
		_, _ = zw.Write(row) // into memory: cannot fail
	}
	_ = zw.Close()
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, PNGChunk("IHDR", ihdr)...)
	out = append(out, PNGChunk("IDAT", z.Bytes())...)
	return append(out, PNGChunk("IEND", nil)...)
}

// PNGHeaderOnly is a PNG that claims w×h and has no pixel data at all.
func PNGHeaderOnly(w, h int) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, PNGChunk("IHDR", ihdr)...)
	return append(out, PNGChunk("IEND", nil)...)
}

// TIFF builds a little-endian TIFF/EXIF block: IFD0 with the orientation
// (when o > 0), an image description and a pointer to a GPS IFD holding a
// latitude reference and a processing method, all recognisable strings.
func TIFF(o int) []byte {
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
	desc := append([]byte(SecretDescription), 0)
	gpsMethod := []byte(SecretGPS)
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

// WithMetadata inserts after a JPEG's SOI an APP1 Exif segment (see TIFF)
// and a comment segment.
func WithMetadata(jpg []byte, o int) []byte {
	seg := func(marker byte, body []byte) []byte {
		n := len(body) + 2
		return append([]byte{0xFF, marker, byte(n >> 8), byte(n)}, body...)
	}
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg(0xE1, append([]byte("Exif\x00\x00"), TIFF(o)...))...)
	out = append(out, seg(0xFE, []byte(SecretComment))...)
	return append(out, jpg[2:]...)
}
