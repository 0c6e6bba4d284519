// Package demoimages gives the demo catalogue's products a generated
// picture each, so a fresh store's storefront shows images rather than
// placeholders. The pictures go through images.Service, as an upload does.
package demoimages

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Picture size: the storefront's 4:3 product card.
const (
	Width  = 1200
	Height = 900
)

var (
	fontOnce sync.Once
	boldFont *opentype.Font
	fontErr  error
)

func face(size float64) (font.Face, error) {
	fontOnce.Do(func() { boldFont, fontErr = opentype.Parse(gobold.TTF) })
	if fontErr != nil {
		return nil, fontErr
	}
	return opentype.NewFace(boldFont, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
}

// Picture draws a product's picture as PNG: a soft diagonal gradient in a
// hue of its category (so a category's products look alike), a pale disc
// placed by its name, its initials in large type and its name below. The
// same name and category always give the same bytes.
func Picture(name, category string) ([]byte, error) {
	hue := float64(hash(category)%360) / 360
	nh := hash(name)
	hue += (float64(nh%41) - 20) / 360 // products of a category differ a little
	from := hsl(hue, 0.55, 0.62)
	to := hsl(hue+0.08, 0.60, 0.38)

	m := image.NewRGBA(image.Rect(0, 0, Width, Height))
	for y := range Height {
		for x := range Width {
			t := (float64(x)/Width*0.6 + float64(y)/Height*0.4)
			i := m.PixOffset(x, y)
			m.Pix[i+0] = mix(from.R, to.R, t)
			m.Pix[i+1] = mix(from.G, to.G, t)
			m.Pix[i+2] = mix(from.B, to.B, t)
			m.Pix[i+3] = 255
		}
	}
	// A pale disc, partly off the picture, where the name's hash puts it.
	cx := Width*3/4 + int(nh>>8%200) - 100
	cy := Height/3 + int(nh>>16%200) - 100
	disc(m, cx, cy, 380, color.RGBA{255, 255, 255, 255}, 0.16)
	disc(m, Width-cx, Height-cy/2, 220, color.RGBA{255, 255, 255, 255}, 0.10)

	white := image.NewUniform(color.RGBA{255, 255, 255, 255})
	big, err := face(300)
	if err != nil {
		return nil, fmt.Errorf("demoimages: font: %w", err)
	}
	defer func() { _ = big.Close() }()
	centered(m, big, white, initials(name), 520)

	small, err := face(46)
	if err != nil {
		return nil, fmt.Errorf("demoimages: font: %w", err)
	}
	defer func() { _ = small.Close() }()
	centered(m, small, white, fit(small, name, Width-160), 700)
	soft := image.NewUniform(color.NRGBA{255, 255, 255, 210})
	centered(m, small, soft, fit(small, strings.ToUpper(category), Width-160), 780)

	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		return nil, fmt.Errorf("demoimages: encode: %w", err)
	}
	return b.Bytes(), nil
}

func hash(s string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return h.Sum32()
}

// initials are the first letters (or digits) of the name's first two words.
func initials(name string) string {
	var out []rune
	for _, w := range strings.Fields(name) {
		for _, r := range w {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				out = append(out, unicode.ToUpper(r))
				break
			}
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

// fit shortens s with an ellipsis until it is at most width pixels wide.
func fit(f font.Face, s string, width int) string {
	if font.MeasureString(f, s).Ceil() <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 1 {
		r = r[:len(r)-1]
		t := strings.TrimRight(string(r), " -,") + "…"
		if font.MeasureString(f, t).Ceil() <= width {
			return t
		}
	}
	return string(r)
}

// centered draws s horizontally centred with its baseline at y.
func centered(m *image.RGBA, f font.Face, c image.Image, s string, y int) {
	d := font.Drawer{Dst: m, Src: c, Face: f}
	w := d.MeasureString(s)
	d.Dot = fixed.Point26_6{X: (fixed.I(Width) - w) / 2, Y: fixed.I(y)}
	d.DrawString(s)
}

// disc blends a circle of colour c at opacity a over m, anti-aliased at its edge.
func disc(m *image.RGBA, cx, cy, r int, c color.RGBA, a float64) {
	b := image.Rect(cx-r-1, cy-r-1, cx+r+2, cy+r+2).Intersect(m.Bounds())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			d := math.Hypot(float64(x-cx), float64(y-cy))
			cover := math.Max(0, math.Min(1, float64(r)-d+0.5)) * a
			if cover == 0 {
				continue
			}
			i := m.PixOffset(x, y)
			m.Pix[i+0] = mix(m.Pix[i+0], c.R, cover)
			m.Pix[i+1] = mix(m.Pix[i+1], c.G, cover)
			m.Pix[i+2] = mix(m.Pix[i+2], c.B, cover)
		}
	}
}

func mix(a, b uint8, t float64) uint8 {
	return uint8(math.Round(float64(a) + (float64(b)-float64(a))*t))
}

// hsl converts a hue (turns, wrapped), saturation and lightness to RGB.
func hsl(h, s, l float64) color.RGBA {
	h -= math.Floor(h)
	q := l + s - l*s
	if l < 0.5 {
		q = l * (1 + s)
	}
	p := 2*l - q
	ch := func(t float64) uint8 {
		t -= math.Floor(t)
		var v float64
		switch {
		case t < 1.0/6:
			v = p + (q-p)*6*t
		case t < 0.5:
			v = q
		case t < 2.0/3:
			v = p + (q-p)*(2.0/3-t)*6
		default:
			v = p
		}
		return uint8(math.Round(v * 255))
	}
	return color.RGBA{ch(h + 1.0/3), ch(h), ch(h - 1.0/3), 255}
}
