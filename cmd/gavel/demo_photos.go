package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"sync"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/media"
)

// The demo's photos are drawn here, in code: simple still lifes of each
// demo item, so no image file ships with Gavel and no licence applies.
// Each item gets two photos, the whole object and a closer view, processed
// like any upload the first time an auction of that item is listed.

// demoPhotoW and demoPhotoH are the drawn size: a phone photo's shape,
// small enough to draw and process in a fraction of a second.
const (
	demoPhotoW = 1200
	demoPhotoH = 900
)

// shape is one filled region of a still life, in scene coordinates: v
// runs 0-1 top to bottom, u in the same unit left to right with 0.5 in
// the middle.
type shape struct {
	in  func(u, v float64) bool
	col color.RGBA
}

func circle(cu, cv, r float64, col color.RGBA) shape {
	return shape{func(u, v float64) bool { return (u-cu)*(u-cu)+(v-cv)*(v-cv) <= r*r }, col}
}

func ring(cu, cv, r0, r1 float64, col color.RGBA) shape {
	return shape{func(u, v float64) bool {
		d := (u-cu)*(u-cu) + (v-cv)*(v-cv)
		return d >= r0*r0 && d <= r1*r1
	}, col}
}

func ellipse(cu, cv, ru, rv float64, col color.RGBA) shape {
	return shape{func(u, v float64) bool {
		du, dv := (u-cu)/ru, (v-cv)/rv
		return du*du+dv*dv <= 1
	}, col}
}

func rect(u0, v0, u1, v1 float64, col color.RGBA) shape {
	return shape{func(u, v float64) bool { return u >= u0 && u <= u1 && v >= v0 && v <= v1 }, col}
}

// segment is a thick line from (u0,v0) to (u1,v1).
func segment(u0, v0, u1, v1, w float64, col color.RGBA) shape {
	return shape{func(u, v float64) bool {
		du, dv := u1-u0, v1-v0
		t := math.Max(0, math.Min(1, ((u-u0)*du+(v-v0)*dv)/(du*du+dv*dv)))
		pu, pv := u0+t*du-u, v0+t*dv-v
		return pu*pu+pv*pv <= w*w/4
	}, col}
}

// scene is one item's still life: a wall, a table top, and shapes in
// painting order.
type scene struct {
	wall, table color.RGBA
	shapes      []shape
}

// demoScenes follow demoItems, in order.
func demoScenes() []scene {
	brass, face, ink := color.RGBA{191, 147, 58, 255}, color.RGBA{246, 240, 224, 255}, color.RGBA{35, 31, 28, 255}
	clock := []shape{circle(0.5, 0.42, 0.27, brass), circle(0.5, 0.42, 0.22, face)}
	for i := range 12 {
		a := float64(i) * math.Pi / 6
		clock = append(clock, segment(0.5+0.18*math.Cos(a), 0.42+0.18*math.Sin(a), 0.5+0.205*math.Cos(a), 0.42+0.205*math.Sin(a), 0.012, ink))
	}
	clock = append(clock, segment(0.5, 0.42, 0.5, 0.28, 0.014, ink), segment(0.5, 0.42, 0.6, 0.46, 0.018, ink), circle(0.5, 0.42, 0.015, brass))

	globe := []shape{rect(0.47, 0.55, 0.53, 0.66, color.RGBA{92, 58, 30, 255}), ellipse(0.5, 0.67, 0.16, 0.025, color.RGBA{92, 58, 30, 255}),
		ring(0.5, 0.34, 0.225, 0.245, color.RGBA{176, 138, 62, 255}), circle(0.5, 0.34, 0.22, color.RGBA{58, 104, 150, 255}),
		ellipse(0.44, 0.27, 0.07, 0.05, color.RGBA{112, 150, 84, 255}), ellipse(0.56, 0.4, 0.05, 0.09, color.RGBA{112, 150, 84, 255}),
		ellipse(0.38, 0.42, 0.04, 0.03, color.RGBA{112, 150, 84, 255})}
	for _, k := range []float64{0.45, 0.75} {
		globe = append(globe, ring(0.5, 0.34, 0.22*k-0.002, 0.22*k+0.002, color.RGBA{200, 210, 220, 255}))
	}
	return []scene{
		{color.RGBA{120, 140, 150, 255}, color.RGBA{110, 78, 50, 255}, clock},
		{color.RGBA{214, 206, 190, 255}, color.RGBA{86, 60, 44, 255}, []shape{
			rect(0.3, 0.3, 0.7, 0.66, color.RGBA{240, 232, 210, 255}),
			rect(0.28, 0.28, 0.68, 0.64, color.RGBA{128, 28, 36, 255}),
			rect(0.28, 0.28, 0.32, 0.64, color.RGBA{96, 18, 26, 255}),
			rect(0.38, 0.36, 0.62, 0.42, color.RGBA{205, 170, 80, 255}),
			segment(0.4, 0.55, 0.6, 0.52, 0.008, color.RGBA{20, 24, 60, 255}),
		}},
		{color.RGBA{232, 226, 212, 255}, color.RGBA{170, 150, 120, 255}, []shape{
			segment(0.32, 0.56, 0.28, 0.74, 0.02, color.RGBA{140, 84, 44, 255}),
			segment(0.68, 0.56, 0.72, 0.74, 0.02, color.RGBA{140, 84, 44, 255}),
			rect(0.3, 0.2, 0.7, 0.48, color.RGBA{52, 110, 74, 255}),
			rect(0.27, 0.46, 0.73, 0.58, color.RGBA{62, 124, 84, 255}),
			rect(0.25, 0.38, 0.29, 0.58, color.RGBA{140, 84, 44, 255}),
			rect(0.71, 0.38, 0.75, 0.58, color.RGBA{140, 84, 44, 255}),
		}},
		{color.RGBA{60, 66, 78, 255}, color.RGBA{140, 104, 72, 255}, []shape{
			rect(0.26, 0.34, 0.74, 0.62, color.RGBA{28, 28, 30, 255}),
			rect(0.26, 0.3, 0.74, 0.36, color.RGBA{186, 188, 192, 255}),
			rect(0.3, 0.26, 0.38, 0.3, color.RGBA{186, 188, 192, 255}),
			circle(0.5, 0.48, 0.12, color.RGBA{160, 162, 168, 255}),
			circle(0.5, 0.48, 0.095, color.RGBA{18, 18, 22, 255}),
			circle(0.47, 0.45, 0.025, color.RGBA{90, 110, 150, 255}),
			rect(0.64, 0.39, 0.7, 0.43, color.RGBA{210, 210, 200, 255}),
		}},
		{color.RGBA{222, 214, 198, 255}, color.RGBA{96, 70, 52, 255}, []shape{
			ring(0.6, 0.44, 0.07, 0.095, color.RGBA{112, 128, 130, 255}),
			segment(0.36, 0.46, 0.27, 0.36, 0.035, color.RGBA{112, 128, 130, 255}),
			ellipse(0.47, 0.5, 0.15, 0.14, color.RGBA{124, 140, 142, 255}),
			ellipse(0.47, 0.37, 0.06, 0.025, color.RGBA{100, 114, 116, 255}),
			circle(0.47, 0.34, 0.015, color.RGBA{100, 114, 116, 255}),
			ellipse(0.78, 0.6, 0.06, 0.05, color.RGBA{124, 140, 142, 255}),
			ellipse(0.18, 0.62, 0.06, 0.05, color.RGBA{124, 140, 142, 255}),
		}},
		{color.RGBA{70, 84, 96, 255}, color.RGBA{120, 86, 58, 255}, globe},
	}
}

// draw renders s into a w×h image, zoomed by zoom around the centre. The
// scene's unit is the image's height, so circles stay round and the
// shapes sit in the middle square of a landscape picture.
func (s scene) draw(w, h int, zoom float64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		v := 0.5 + (float64(y)-float64(h)/2)/(float64(h)*zoom)
		for x := range w {
			u := 0.5 + (float64(x)-float64(w)/2)/(float64(h)*zoom)
			c, shade := s.wall, 1.0-0.25*v
			if v > 0.7 {
				c, shade = s.table, 0.85+0.3*(v-0.7)
			}
			c = color.RGBA{scale8(c.R, shade), scale8(c.G, shade), scale8(c.B, shade), 255}
			for _, sh := range s.shapes {
				if sh.in(u, v) {
					c = sh.col
				}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func scale8(c uint8, f float64) uint8 { return uint8(math.Max(0, math.Min(255, float64(c)*f))) }

// demoPhotos returns a function that gives a new demo auction of item the
// item's photos. It draws and processes an item's photos the first time
// they are needed, in the demo's own goroutine, so start-up does not wait.
// Without a photo service (it is off) it does nothing.
func demoPhotos(n *node, seller domain.User) func(ctx context.Context, a domain.Auction, item int) {
	if n.media == nil {
		return func(context.Context, domain.Auction, int) {}
	}
	scenes := demoScenes()
	var mu sync.Mutex
	done := map[int][]media.Processed{}
	return func(ctx context.Context, a domain.Auction, item int) {
		mu.Lock()
		defer mu.Unlock()
		ps, ok := done[item]
		if !ok {
			s := scenes[item%len(scenes)]
			for _, zoom := range []float64{1, 1.8} {
				var buf bytes.Buffer
				if err := jpeg.Encode(&buf, s.draw(demoPhotoW, demoPhotoH, zoom), &jpeg.Options{Quality: 90}); err != nil {
					return
				}
				p, err := n.media.Process(ctx, buf.Bytes())
				if err != nil {
					n.log.Warn("demo: drawing a photo", "err", err)
					return
				}
				ps = append(ps, p)
			}
			done[item] = ps
		}
		for _, p := range ps {
			if _, err := n.media.AddProcessed(ctx, seller, a.ID, p); err != nil {
				n.log.Warn("demo: adding a photo", "auction", a.ID, "err", err)
				return
			}
		}
	}
}
