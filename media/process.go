package media

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"github.com/gavel-auctions/gavel/domain"
)

// Size names one of the three re-encoded sizes of a photo.
type Size int

// The sizes, smallest first.
const (
	Thumb Size = iota
	Medium
	Large
	numSizes
)

// sizeSpec is the long side in pixels and the JPEG quality of a size.
var sizeSpec = [numSizes]struct {
	long    int
	quality int
}{
	Thumb:  {320, 80},
	Medium: {960, 82},
	Large:  {1920, 85},
}

// Variant is one re-encoded size of a photo.
type Variant struct {
	Name   string // "<sha256 of Data>.jpg"
	Data   []byte // a baseline JPEG with no metadata
	Width  int
	Height int
}

// Processed is an upload turned into the sizes Gavel serves.
type Processed struct {
	Variants [numSizes]Variant
}

// decode decodes data, whose header inspect has already checked.
func decode(h header, data []byte) (image.Image, error) {
	var (
		img image.Image
		err error
	)
	switch h.format {
	case formatJPEG:
		img, err = jpeg.Decode(bytes.NewReader(data))
	case formatPNG:
		img, err = png.Decode(bytes.NewReader(data))
	case formatWebP:
		img, err = webp.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, corrupt(h, err)
	}
	if b := img.Bounds(); b.Dx() != h.width || b.Dy() != h.height {
		return nil, photoError(domain.CodeInvalid, "The image is corrupt: its size does not match its header.")
	}
	return img, nil
}

// render turns a decoded image into the three sizes: upright (EXIF
// orientation applied), flattened onto white, never enlarged, re-encoded
// as JPEG. Re-encoding from pixels is what strips every byte of metadata
// (GPS, camera serials, comments) and anything smuggled after the image.
func render(src image.Image, orientation int) (Processed, error) {
	var p Processed
	b := src.Bounds()
	// An integer box reduction first: it averages every source pixel (no
	// aliasing), is cheap, and leaves the costly filter a small image.
	var base *image.RGBA
	if k := max(b.Dx(), b.Dy()) / sizeSpec[Large].long; k >= 2 {
		base = boxReduce(src, k)
	} else {
		base = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(base, base.Bounds(), src, b.Min, draw.Src)
	}
	flatten(base)
	img := orient(base, orientation)
	for s := Large; s >= Thumb; s-- {
		img = fit(img, sizeSpec[s].long)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: sizeSpec[s].quality}); err != nil {
			return p, err
		}
		sum := sha256.Sum256(buf.Bytes())
		ib := img.Bounds()
		p.Variants[s] = Variant{Name: hex.EncodeToString(sum[:]) + ".jpg", Data: buf.Bytes(), Width: ib.Dx(), Height: ib.Dy()}
	}
	return p, nil
}

// boxReduce shrinks src by the integer factor k, averaging each k×k block.
// It converts one source row at a time, so besides src it holds only the
// result and one row, whatever src's pixel type.
func boxReduce(src image.Image, k int) *image.RGBA {
	b := src.Bounds()
	ow, oh := b.Dx()/k, b.Dy()/k
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	row := image.NewRGBA(image.Rect(0, 0, ow*k, 1))
	acc := make([]uint32, ow*4)
	div := uint32(k * k)
	for oy := 0; oy < oh; oy++ {
		clear(acc)
		for dy := 0; dy < k; dy++ {
			draw.Draw(row, row.Bounds(), src, image.Pt(b.Min.X, b.Min.Y+oy*k+dy), draw.Src)
			px := row.Pix
			for ox := 0; ox < ow; ox++ {
				a := acc[ox*4 : ox*4+4 : ox*4+4]
				for dx := 0; dx < k; dx++ {
					p := px[(ox*k+dx)*4 : (ox*k+dx)*4+4 : (ox*k+dx)*4+4]
					a[0] += uint32(p[0])
					a[1] += uint32(p[1])
					a[2] += uint32(p[2])
					a[3] += uint32(p[3])
				}
			}
		}
		dst := out.Pix[oy*out.Stride : oy*out.Stride+ow*4]
		for i, v := range acc {
			dst[i] = uint8((v + div/2) / div)
		}
	}
	return out
}

// flatten composites a premultiplied image onto white, since JPEG has no
// transparency (a transparent PNG would otherwise turn black).
func flatten(img *image.RGBA) {
	p := img.Pix
	for i := 0; i+3 < len(p); i += 4 {
		if a := p[i+3]; a != 0xFF {
			w := 0xFF - a
			p[i] += w
			p[i+1] += w
			p[i+2] += w
			p[i+3] = 0xFF
		}
	}
}

// fit scales img down so its long side is at most long pixels: by an
// integer box reduction as far as it goes (exact area averaging, and
// cheap), then, for the remaining factor of less than two, a bilinear
// resample. A kernel filter over the whole step costs several times as
// much for no visible gain at these sizes.
func fit(img *image.RGBA, long int) *image.RGBA {
	b := img.Bounds()
	if k := max(b.Dx(), b.Dy()) / long; k >= 2 {
		img = boxReduce(img, k)
		b = img.Bounds()
	}
	w, h := b.Dx(), b.Dy()
	if max(w, h) <= long {
		return img
	}
	var nw, nh int
	if w >= h {
		nw, nh = long, max(1, (h*long+w/2)/w)
	} else {
		nw, nh = max(1, (w*long+h/2)/h), long
	}
	return bilinear(img, nw, nh)
}

// bilinear resamples src to nw×nh, each output pixel the weighted mean of
// the four source pixels around its centre, in 8-bit fixed point. It is
// only asked for factors below two, where four taps see every pixel.
// (x/image/draw's BiLinear is a general kernel scaler in float64, about
// ten times slower here.)
func bilinear(src *image.RGBA, nw, nh int) *image.RGBA {
	sw, sh := src.Bounds().Dx(), src.Bounds().Dy()
	dst := image.NewRGBA(image.Rect(0, 0, nw, nh))
	// axis maps each output coordinate to its first source index and the
	// weight (0-256) of the next one.
	axis := func(n, sn int) ([]int, []uint32) {
		idx, wt := make([]int, n), make([]uint32, n)
		for i := range n {
			f := (float64(i)+0.5)*float64(sn)/float64(n) - 0.5
			f = max(0, min(f, float64(sn-1)))
			i0 := min(int(f), sn-2)
			if sn == 1 {
				i0 = 0
			}
			idx[i], wt[i] = i0, uint32((f-float64(i0))*256+0.5)
		}
		return idx, wt
	}
	xs, wx := axis(nw, sw)
	ys, wy := axis(nh, sh)
	for y := range nh {
		r0 := src.Pix[ys[y]*src.Stride:]
		r1 := r0
		if sh > 1 {
			r1 = src.Pix[(ys[y]+1)*src.Stride:]
		}
		b := wy[y]
		d := dst.Pix[y*dst.Stride : y*dst.Stride+nw*4]
		for x := range nw {
			i := xs[x] * 4
			j := i + 4
			if sw == 1 {
				j = i
			}
			a := wx[x]
			for c := range 4 {
				top := uint32(r0[i+c])*(256-a) + uint32(r0[j+c])*a
				bot := uint32(r1[i+c])*(256-a) + uint32(r1[j+c])*a
				d[x*4+c] = uint8((top*(256-b) + bot*b + 1<<15) >> 16)
			}
		}
	}
	return dst
}

// orient returns img turned upright for EXIF orientation o (1-8): 2 flips
// it left to right, 3 turns it 180°, 4 flips it top to bottom, 5
// transposes it, 6 turns it 90° clockwise, 7 transverses it and 8 turns it
// 90° counter-clockwise.
func orient(img *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	// src maps a destination pixel to the source pixel shown there.
	var src func(x, y int) (int, int)
	switch o {
	case 2:
		src = func(x, y int) (int, int) { return w - 1 - x, y }
	case 3:
		src = func(x, y int) (int, int) { return w - 1 - x, h - 1 - y }
	case 4:
		src = func(x, y int) (int, int) { return x, h - 1 - y }
	case 5:
		src = func(x, y int) (int, int) { return y, x }
	case 6:
		src = func(x, y int) (int, int) { return y, h - 1 - x }
	case 7:
		src = func(x, y int) (int, int) { return w - 1 - y, h - 1 - x }
	case 8:
		src = func(x, y int) (int, int) { return w - 1 - y, x }
	}
	for y := 0; y < dh; y++ {
		d := dst.Pix[y*dst.Stride:]
		for x := 0; x < dw; x++ {
			sx, sy := src(x, y)
			s := img.Pix[sy*img.Stride+sx*4:]
			copy(d[x*4:x*4+4], s[:4])
		}
	}
	return dst
}
