package media

import (
	"bytes"
	"encoding/binary"
)

// EXIF orientation: only the orientation tag (0x0112) of IFD0 is read.
// Everything else in the metadata is discarded with the re-encode, so a
// parser of the whole of EXIF would only be more code that reads hostile
// bytes. Every offset below is checked against the slice before use.

const tagOrientation = 0x0112

// tiffOrientation returns the orientation (1-8) recorded in a TIFF
// structure (the body of an EXIF block), or 1 when there is none or it is
// malformed: a photo shown unrotated is better than one refused.
func tiffOrientation(b []byte) int {
	if len(b) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(b[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(b[2:4]) != 42 {
		return 1
	}
	off := uint64(bo.Uint32(b[4:8]))
	if off < 8 || off+2 > uint64(len(b)) {
		return 1
	}
	n := uint64(bo.Uint16(b[off : off+2]))
	for i := uint64(0); i < n; i++ {
		e := off + 2 + 12*i
		if e+12 > uint64(len(b)) {
			return 1
		}
		if bo.Uint16(b[e:e+2]) != tagOrientation {
			continue
		}
		// SHORT (type 3), one value, stored in the first two bytes of the
		// value field.
		if bo.Uint16(b[e+2:e+4]) != 3 || bo.Uint32(b[e+4:e+8]) != 1 {
			return 1
		}
		if v := int(bo.Uint16(b[e+8 : e+10])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}

var exifHeader = []byte("Exif\x00\x00")

// pngOrientation reads the eXIf chunk of a PNG, if any.
func pngOrientation(data []byte) int {
	for i := 8; i+8 <= len(data); {
		n := uint64(binary.BigEndian.Uint32(data[i : i+4]))
		typ := string(data[i+4 : i+8])
		end := uint64(i) + 8 + n
		if end > uint64(len(data)) {
			return 1
		}
		switch typ {
		case "eXIf":
			return tiffOrientation(bytes.TrimPrefix(data[i+8:end], exifHeader))
		case "IEND":
			return 1
		}
		i = int(end) + 4 // CRC
	}
	return 1
}

// webpOrientation reads the EXIF chunk of an extended (VP8X) WebP, if any.
func webpOrientation(data []byte) int {
	for i := 12; i+8 <= len(data); {
		n := uint64(binary.LittleEndian.Uint32(data[i+4 : i+8]))
		end := uint64(i) + 8 + n
		if end > uint64(len(data)) {
			return 1
		}
		if string(data[i:i+4]) == "EXIF" {
			return tiffOrientation(bytes.TrimPrefix(data[i+8:end], exifHeader))
		}
		i = int(end + n%2) // chunks are padded to an even size
	}
	return 1
}
