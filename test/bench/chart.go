package main

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
)

// A small plotting helper: grouped bar panels drawn on an RGBA image with
// the 5x7 font of font.go, written as PNG. Enough for docs/live-stream.png.

var (
	colWhite = color.RGBA{0xff, 0xff, 0xff, 0xff}
	colBlack = color.RGBA{0x20, 0x20, 0x20, 0xff}
	colGrid  = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	colAxis  = color.RGBA{0x60, 0x60, 0x60, 0xff}
	colGoal  = color.RGBA{0xd6, 0x27, 0x28, 0xff}
	colGood  = color.RGBA{0x2c, 0x8a, 0x2c, 0xff}
	// series colours
	colBlue   = color.RGBA{0x1f, 0x77, 0xb4, 0xff}
	colOrange = color.RGBA{0xff, 0x7f, 0x0e, 0xff}
	colGrey   = color.RGBA{0x99, 0x99, 0x99, 0xff}
)

type canvas struct{ img *image.RGBA }

func newCanvas(w, h int) *canvas {
	c := &canvas{image.NewRGBA(image.Rect(0, 0, w, h))}
	c.fill(0, 0, w, h, colWhite)
	return c
}

func (c *canvas) fill(x0, y0, x1, y1 int, col color.RGBA) {
	r := image.Rect(x0, y0, x1, y1).Intersect(c.img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c.img.SetRGBA(x, y, col)
		}
	}
}

func (c *canvas) hline(x0, x1, y int, col color.RGBA) { c.fill(x0, y, x1+1, y+1, col) }
func (c *canvas) vline(x, y0, y1 int, col color.RGBA) { c.fill(x, y0, x+1, y1+1, col) }

// dashed draws a horizontal dashed line, thick pixels high.
func (c *canvas) dashed(x0, x1, y, thick int, col color.RGBA) {
	for x := x0; x <= x1; x += 12 {
		c.fill(x, y, min(x+7, x1+1), y+thick, col)
	}
}

// textWidth is the width in pixels of s drawn at scale.
func textWidth(s string, scale int) int {
	n := len([]rune(s))
	if n == 0 {
		return 0
	}
	return (n*(glyphW+1) - 1) * scale
}

func textHeight(scale int) int { return glyphH * scale }

// text draws s with its top-left corner at (x, y).
func (c *canvas) text(x, y int, s string, scale int, col color.RGBA) {
	for _, r := range s {
		g := glyph(r)
		for row := 0; row < glyphH; row++ {
			for bit := 0; bit < glyphW; bit++ {
				if g[row]&(1<<(glyphW-1-bit)) != 0 {
					c.fill(x+bit*scale, y+row*scale, x+(bit+1)*scale, y+(row+1)*scale, col)
				}
			}
		}
		x += (glyphW + 1) * scale
	}
}

// textCentered draws s centred horizontally on cx, top at y.
func (c *canvas) textCentered(cx, y int, s string, scale int, col color.RGBA) {
	c.text(cx-textWidth(s, scale)/2, y, s, scale, col)
}

// textUp draws s rotated a quarter turn anticlockwise (reading upwards),
// centred vertically on cy, its left edge at x.
func (c *canvas) textUp(x, cy int, s string, scale int, col color.RGBA) {
	w, h := textWidth(s, scale), textHeight(scale)
	tmp := newCanvas(w, h)
	tmp.text(0, 0, s, scale, col)
	y0 := cy + w/2
	for ty := 0; ty < h; ty++ {
		for tx := 0; tx < w; tx++ {
			p := tmp.img.RGBAAt(tx, ty)
			if p != colWhite {
				c.img.SetRGBA(x+ty, y0-tx, p)
			}
		}
	}
}

func (c *canvas) save(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, c.img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// series is one set of bars, one value per group; NaN draws no bar.
type series struct {
	name   string
	col    color.RGBA
	values []float64
}

// barPanel is a grouped bar chart in the rectangle (x0,y0)-(x1,y1).
type barPanel struct {
	title    string
	subtitle string
	yLabel   string
	groups   []string // x labels
	notes    []string // optional second line under each x label
	noteCols []color.RGBA
	noteName string // printed left of the notes
	xLabel   string // under the x labels
	series   []series
	format   func(float64) string // value labels above the bars and tick labels
	goal     float64              // a dashed horizontal line; 0 for none
	goalText string
}

func (p barPanel) draw(c *canvas, x0, y0, x1, y1 int) {
	const s2 = 2
	c.textCentered((x0+x1)/2, y0, p.title, s2, colBlack)
	top := y0 + textHeight(s2) + 8
	if p.subtitle != "" {
		c.textCentered((x0+x1)/2, top, p.subtitle, s2, colAxis)
		top += textHeight(s2) + 8
	}
	// legend, one row under the title, centred
	lw := 0
	for _, s := range p.series {
		lw += 20 + textWidth(s.name, s2) + 30
	}
	if p.goal > 0 {
		lw += 38 + textWidth(p.goalText, s2)
	}
	lx := max(x0, (x0+x1-lw)/2)
	for _, s := range p.series {
		c.fill(lx, top+2, lx+14, top+16, s.col)
		c.text(lx+20, top+2, s.name, s2, colBlack)
		lx += 20 + textWidth(s.name, s2) + 30
	}
	if p.goal > 0 {
		c.dashed(lx, lx+30, top+8, 3, colGoal)
		c.text(lx+38, top+2, p.goalText, s2, colBlack)
	}
	top += 30
	// plot area
	px0, px1 := x0+110, x1-10
	py0, py1 := top+10, y1-textHeight(s2)-16
	if len(p.notes) > 0 {
		py1 -= textHeight(s2) + 6
	}
	if p.xLabel != "" {
		py1 -= textHeight(s2) + 10
		c.textCentered((px0+px1)/2, y1-textHeight(s2), p.xLabel, s2, colAxis)
	}
	if p.noteName != "" {
		c.text(px0-8-textWidth(p.noteName, s2), py1+8+textHeight(s2)+6, p.noteName, s2, colAxis)
	}
	vmax := 0.0
	for _, s := range p.series {
		for _, v := range s.values {
			if !math.IsNaN(v) {
				vmax = math.Max(vmax, v)
			}
		}
	}
	if p.goal > 0 && p.goal < 3*vmax {
		vmax = math.Max(vmax, p.goal)
	}
	axisMax, step := niceAxis(vmax * 1.12)
	yOf := func(v float64) int { return py1 - int(math.Round(v/axisMax*float64(py1-py0))) }
	for v := 0.0; v <= axisMax+step/2; v += step {
		y := yOf(v)
		c.hline(px0, px1, y, colGrid)
		lbl := p.format(v)
		c.text(px0-8-textWidth(lbl, s2), y-7*s2/2, lbl, s2, colBlack)
	}
	c.vline(px0, py0, py1, colAxis)
	c.hline(px0, px1, py1, colAxis)
	c.textUp(x0, (py0+py1)/2, p.yLabel, s2, colBlack)
	if p.goal > 0 && p.goal <= axisMax {
		c.dashed(px0, px1, yOf(p.goal)-1, 3, colGoal)
	}
	// bars
	n := len(p.groups)
	if n == 0 {
		return
	}
	gw := float64(px1-px0) / float64(n)
	bw := int(gw * 0.8 / float64(len(p.series)))
	for g, name := range p.groups {
		gx := px0 + int(gw*float64(g)+gw*0.1)
		for i, s := range p.series {
			if g >= len(s.values) || math.IsNaN(s.values[g]) {
				continue
			}
			v := s.values[g]
			bx := gx + i*bw
			y := yOf(math.Min(v, axisMax))
			c.fill(bx+2, y, bx+bw-2, py1, s.col)
			lbl := p.format(v)
			sc := s2
			if textWidth(lbl, sc) > bw {
				sc = 1
			}
			lx, ly := bx+bw/2-textWidth(lbl, sc)/2, y-glyphH*sc-2
			c.fill(lx-2, ly-2, lx+textWidth(lbl, sc)+2, ly+7*sc+2, colWhite)
			c.text(lx, ly, lbl, sc, colBlack)
		}
		cx := px0 + int(gw*float64(g)+gw/2)
		c.textCentered(cx, py1+8, name, s2, colBlack)
		if g < len(p.notes) {
			col := colAxis
			if g < len(p.noteCols) {
				col = p.noteCols[g]
			}
			c.textCentered(cx, py1+8+textHeight(s2)+6, p.notes[g], s2, col)
		}
	}
}

// niceAxis returns an axis maximum at least v and a tick step of 1, 2 or 5
// times a power of ten, about five ticks.
func niceAxis(v float64) (float64, float64) {
	if v <= 0 {
		return 1, 0.2
	}
	raw := v / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	return math.Ceil(v/step) * step, step
}
