package photobench

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// Photo draws a w×h test photo and encodes it as a JPEG of quality 92:
// soft gradients and shapes with per-pixel sensor-like noise, so it
// compresses about as badly as a phone photo (a 12 MP one is a few MB)
// rather than as well as a flat test card. seed varies the picture.
func Photo(w, h int, seed uint64) []byte {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	cx, cy := float64(w)*(0.3+0.4*rng.Float64()), float64(h)*(0.3+0.4*rng.Float64())
	r := float64(min(w, h)) * 0.3
	for y := range h {
		for x := range w {
			dx, dy := float64(x)-cx, float64(y)-cy
			v := 60 + 120*float64(y)/float64(h)
			if dx*dx+dy*dy < r*r {
				v = 200 - 60*math.Sqrt(dx*dx+dy*dy)/r
			}
			v += float64(rng.IntN(25)) - 12
			img.Y[y*img.YStride+x] = uint8(max(0, min(255, v)))
		}
	}
	for y := range (h + 1) / 2 {
		for x := range (w + 1) / 2 {
			i := y*img.CStride + x
			img.Cb[i] = uint8(110 + 40*x/((w+1)/2) + rng.IntN(9))
			img.Cr[i] = uint8(150 - 40*y/((h+1)/2) + rng.IntN(9))
		}
	}
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 92}) // writes to memory: cannot fail
	return b.Bytes()
}
