package bench

import (
	"encoding/xml"
	"fmt"
	"math"
	"strings"
	"time"
)

// The chart is drawn by hand as SVG: two panels sharing the time axis, throughput above
// (linear) and latency percentiles below (logarithmic, since p99.9 can be a hundred times
// p50). Each line is a <path class="series" data-series="NAME">, so tests and readers can
// find a series by name; a point with no data (no request answered in that interval)
// breaks its latency line instead of drawing a false zero.
const (
	chartWidth   = 960
	chartHeight  = 690
	chartLeft    = 80  // room for the y labels
	chartRight   = 200 // room for the legend
	panelHeight  = 230
	topPanelY    = 80
	bottomPanelY = topPanelY + panelHeight + 90
)

// chartSeries is one line of a panel.
type chartSeries struct {
	name   string // data-series attribute and legend text
	color  string
	dashed bool
	value  func(IntervalStats) float64
}

// ChartSVG renders the time series as an SVG document of throughput and latency
// percentiles over time, the warmup shaded.
func (r Report) ChartSVG() string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth, chartHeight, chartWidth, chartHeight)
	fmt.Fprintf(&b, "<title>%s: %s</title>\n", xmlText(r.Workload.Name), xmlText(r.rateMode()))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartWidth, chartHeight)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", chartLeft, xmlText(r.Workload.Name))
	fmt.Fprintf(&b, `<text x="%d" y="44" fill="#555555">rate %s; %s</text>`+"\n", chartLeft, xmlText(r.rateMode()), xmlText(r.Started.Format("2006-01-02 15:04 MST")))

	consuming := r.Workload.Consumers > 0
	maxT := 1.0
	for _, p := range r.Series {
		maxT = max(maxT, p.Seconds)
	}
	x := func(t float64) float64 {
		return chartLeft + t/maxT*float64(chartWidth-chartLeft-chartRight)
	}

	// Throughput panel.
	through := []chartSeries{{name: "produce msg/s", color: "#1f77b4", value: func(p IntervalStats) float64 { return p.ProduceRate }}}
	if consuming {
		through = append(through, chartSeries{name: "consume msg/s", color: "#ff7f0e", value: func(p IntervalStats) float64 { return p.ConsumeRate }})
	}
	top := 1.0
	for _, s := range through {
		for _, p := range r.Series {
			top = max(top, s.value(p))
		}
	}
	if !r.Workload.Rate.Max {
		top = max(top, float64(r.Workload.Rate.PerSecond))
	}
	top = niceCeil(top * 1.05)
	yThrough := func(v float64) float64 {
		return topPanelY + panelHeight - v/top*panelHeight
	}
	r.drawPanelFrame(&b, topPanelY, panelHeight, "throughput (messages/s)", x, maxT)
	for i := 0; i <= 5; i++ {
		v := top * float64(i) / 5
		gridLine(&b, yThrough(v), thousands(v))
	}
	if !r.Workload.Rate.Max {
		y := yThrough(float64(r.Workload.Rate.PerSecond))
		fmt.Fprintf(&b, `<path class="series" data-series="target msg/s" d="M%.1f,%.1f L%.1f,%.1f" stroke="#2ca02c" stroke-dasharray="6,4" fill="none"/>`+"\n",
			x(0), y, x(maxT), y)
	}
	for _, s := range through {
		drawSeries(&b, s, r.Series, x, yThrough, false)
	}
	legend(&b, topPanelY, through, !r.Workload.Rate.Max)

	// Latency panel, logarithmic.
	lat := []chartSeries{
		{name: "publish p50", color: "#aec7e8", value: func(p IntervalStats) float64 { return p.Publish.P50 }},
		{name: "publish p99", color: "#1f77b4", value: func(p IntervalStats) float64 { return p.Publish.P99 }},
		{name: "publish p99.9", color: "#1f77b4", dashed: true, value: func(p IntervalStats) float64 { return p.Publish.P999 }},
	}
	if consuming {
		lat = append(lat,
			chartSeries{name: "end-to-end p50", color: "#ffbb78", value: func(p IntervalStats) float64 { return p.EndToEnd.P50 }},
			chartSeries{name: "end-to-end p99", color: "#ff7f0e", value: func(p IntervalStats) float64 { return p.EndToEnd.P99 }},
			chartSeries{name: "end-to-end p99.9", color: "#ff7f0e", dashed: true, value: func(p IntervalStats) float64 { return p.EndToEnd.P999 }})
	}
	lo, hi := math.Inf(1), 0.0
	for _, s := range lat {
		for _, p := range r.Series {
			if v := s.value(p); v > 0 {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if hi == 0 {
		lo, hi = 1, 1000
	}
	loExp, hiExp := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if hiExp <= loExp {
		hiExp = loExp + 1
	}
	yLat := func(v float64) float64 {
		return bottomPanelY + panelHeight - (math.Log10(v)-loExp)/(hiExp-loExp)*panelHeight
	}
	r.drawPanelFrame(&b, bottomPanelY, panelHeight, "latency (ms, log scale)", x, maxT)
	for e := loExp; e <= hiExp; e++ {
		gridLine(&b, yLat(math.Pow(10, e)), formatAxisMs(math.Pow(10, e)))
	}
	for _, s := range lat {
		drawSeries(&b, s, r.Series, x, yLat, true)
	}
	legend(&b, bottomPanelY, lat, false)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">time since start (s)</text>`+"\n",
		chartLeft+(chartWidth-chartLeft-chartRight)/2, bottomPanelY+panelHeight+40)
	b.WriteString("</svg>\n")
	return b.String()
}

// drawPanelFrame draws a panel's title, its warmup shading and its time axis; the panel
// is h high from y0.
func (r Report) drawPanelFrame(b *strings.Builder, y0, h int, title string, x func(float64) float64, maxT float64) {
	fmt.Fprintf(b, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", chartLeft, y0-10, xmlText(title))
	warm := time.Duration(r.Workload.Warmup).Seconds()
	if warm > 0 {
		fmt.Fprintf(b, `<rect class="warmup" x="%.1f" y="%d" width="%.1f" height="%d" fill="#eeeeee"/>`+"\n",
			x(0), y0, x(min(warm, maxT))-x(0), h)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" fill="#888888">warmup</text>`+"\n", x(0)+4, y0+14)
	}
	fmt.Fprintf(b, `<path d="M%d,%d L%d,%d L%d,%d" stroke="black" fill="none"/>`+"\n",
		chartLeft, y0, chartLeft, y0+h, chartWidth-chartRight, y0+h)
	step := niceCeil(maxT / 8)
	for t := 0.0; t <= maxT+1e-9; t += step {
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%g</text>`+"\n", x(t), y0+h+16, t)
	}
}

// gridLine draws a horizontal grid line at y labelled on the left.
func gridLine(b *strings.Builder, y float64, label string) {
	fmt.Fprintf(b, `<path d="M%d,%.1f L%d,%.1f" stroke="#dddddd" fill="none"/>`+"\n", chartLeft, y, chartWidth-chartRight, y)
	fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", chartLeft-6, y+4, xmlText(label))
}

// drawSeries draws one line; with skipZero a zero value (no data) breaks the line.
func drawSeries(b *strings.Builder, s chartSeries, points []IntervalStats, x, y func(float64) float64, skipZero bool) {
	var d strings.Builder
	pen := false
	for _, p := range points {
		v := s.value(p)
		if skipZero && v <= 0 {
			pen = false
			continue
		}
		cmd := "L"
		if !pen {
			cmd = "M"
		}
		if d.Len() > 0 {
			d.WriteByte(' ')
		}
		fmt.Fprintf(&d, "%s%.1f,%.1f", cmd, x(p.Seconds), y(v))
		pen = true
	}
	dash := ""
	if s.dashed {
		dash = ` stroke-dasharray="4,3"`
	}
	fmt.Fprintf(b, `<path class="series" data-series="%s" d="%s" stroke="%s" stroke-width="1.8"%s fill="none"/>`+"\n",
		xmlText(s.name), d.String(), s.color, dash)
}

// legend lists a panel's series on its right.
func legend(b *strings.Builder, y0 int, series []chartSeries, target bool) {
	x := chartWidth - chartRight + 16
	for i, s := range series {
		y := y0 + 14 + i*18
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="4,3"`
		}
		fmt.Fprintf(b, `<path d="M%d,%d L%d,%d" stroke="%s" stroke-width="2"%s/>`+"\n", x, y-4, x+24, y-4, s.color, dash)
		fmt.Fprintf(b, `<text x="%d" y="%d">%s</text>`+"\n", x+30, y, xmlText(s.name))
	}
	if target {
		y := y0 + 14 + len(series)*18
		fmt.Fprintf(b, `<path d="M%d,%d L%d,%d" stroke="#2ca02c" stroke-width="2" stroke-dasharray="6,4"/>`+"\n", x, y-4, x+24, y-4)
		fmt.Fprintf(b, `<text x="%d" y="%d">target msg/s</text>`+"\n", x+30, y)
	}
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// formatAxisMs labels a power of ten of milliseconds.
func formatAxisMs(ms float64) string {
	switch {
	case ms >= 1000:
		return fmt.Sprintf("%g s", ms/1000)
	default:
		return fmt.Sprintf("%g ms", ms)
	}
}

// xmlText escapes s for XML text and attribute values.
func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
