package bench

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The soak chart stacks panels on one time axis, each linear from zero, so a line that
// climbs stands out from one that is flat. Every line is a <path class="series"
// data-series="NAME"> as in the workload chart; targets are dashed green lines.
const (
	soakPanelHeight = 130
	soakPanelGap    = 70
	soakTopY        = 80
)

// soakSeries is one line of a soak panel: value returns a sample's value, false for none
// (which breaks the line).
type soakSeries struct {
	name   string
	color  string
	dashed bool
	value  func(SoakSample) (float64, bool)
}

// soakPanel is one panel: a title with its unit, and its lines.
type soakPanel struct {
	title  string
	format func(float64) string
	series []soakSeries
}

// targetColor draws target lines.
const targetColor = "#2ca02c"

// soakPanels lists the panels of the chart.
func (r SoakReport) soakPanels() []soakPanel {
	t := r.Targets
	constant := func(v float64) func(SoakSample) (float64, bool) {
		return func(SoakSample) (float64, bool) { return v, true }
	}
	node := func(c counter, f func(SoakSample) float64) func(SoakSample) (float64, bool) {
		return func(s SoakSample) (float64, bool) { return f(s), s.has(c) }
	}
	latency := func(f func(SoakSample) float64) func(SoakSample) (float64, bool) {
		return func(s SoakSample) (float64, bool) { v := f(s); return v, v > 0 }
	}
	mibs := func(v float64) string { return fmt.Sprintf("%.0f MiB", v) }
	count := func(v float64) string { return thousands(v) }
	panels := []soakPanel{
		{title: fmt.Sprintf("end-to-end latency per %.0f s interval (ms)", r.SampleSeconds), format: func(v float64) string { return fmtMs(v) }, series: []soakSeries{
			{name: "p50", color: "#ffbb78", value: latency(func(s SoakSample) float64 { return s.Interval.EndToEnd.P50 })},
			{name: "p99", color: "#ff7f0e", value: latency(func(s SoakSample) float64 { return s.Interval.EndToEnd.P99 })},
			{name: "target p99 " + fmtDuration(t.IntervalP99), color: targetColor, dashed: true, value: constant(ms(t.IntervalP99))},
		}},
		r.stagePanel(),
		{title: "object deletes (per second)", format: count, series: []soakSeries{
			{name: "deletes", color: "#7f7f7f", value: node(metricDeletes, func(s SoakSample) float64 { return s.DeletesPerSec })},
		}},
		{title: "throughput (messages/s)", format: count, series: []soakSeries{
			{name: "produce", color: "#1f77b4", value: func(s SoakSample) (float64, bool) { return s.Interval.ProduceRate, true }},
			{name: "consume", color: "#ff7f0e", value: func(s SoakSample) (float64, bool) { return s.Interval.ConsumeRate, true }},
		}},
		{title: "floe memory (MiB)", format: mibs, series: []soakSeries{
			{name: "RSS", color: "#d62728", value: node(metricRSS, func(s SoakSample) float64 { return s.RSSBytes / mib })},
			{name: "Go heap in use", color: "#9467bd", value: node(metricHeapInuse, func(s SoakSample) float64 { return s.HeapInuseBytes / mib })},
			{name: "chunk cache", color: "#8c564b", value: node(metricCacheBytes, func(s SoakSample) float64 { return s.CacheBytes / mib })},
			{name: "RSS bound", color: targetColor, dashed: true, value: constant(float64(t.CacheBytes+t.RSSHeadroom) / mib)},
		}},
	}
	pg := soakPanel{title: "Postgres size (MiB)", format: mibs, series: []soakSeries{
		{name: "database", color: "#1f77b4", value: func(s SoakSample) (float64, bool) {
			if s.Postgres == nil {
				return 0, false
			}
			return float64(s.Postgres.DatabaseBytes) / mib, true
		}},
	}}
	for i, name := range r.largestTables(3) {
		pg.series = append(pg.series, soakSeries{name: name, color: []string{"#aec7e8", "#ffbb78", "#98df8a"}[i], value: func(s SoakSample) (float64, bool) {
			return float64(s.Postgres.table(name).Bytes) / mib, s.Postgres != nil
		}})
	}
	panels = append(panels, pg,
		soakPanel{title: "Postgres dead tuples (all tables)", format: count, series: []soakSeries{
			{name: "dead tuples", color: "#7f7f7f", value: func(s SoakSample) (float64, bool) {
				if s.Postgres == nil {
					return 0, false
				}
				return float64(s.Postgres.DeadTuples), true
			}},
		}},
		soakPanel{title: "objects in the bucket", format: count, series: []soakSeries{
			{name: "objects", color: "#1f77b4", value: node(metricStoredObjects, func(s SoakSample) float64 { return s.Objects })},
			{name: "awaiting deletion", color: "#aec7e8", value: node(metricUnrefObjects, func(s SoakSample) float64 { return s.UnreferencedObjects })},
			{name: "waiting to merge", color: "#ff7f0e", value: node(metricBacklogSegs, func(s SoakSample) float64 { return s.BacklogSegments })},
		}},
		soakPanel{title: "compaction lag (s)", format: count, series: []soakSeries{
			{name: "oldest unmerged flush", color: "#ff7f0e", value: node(metricBacklogAge, func(s SoakSample) float64 { return s.LagSeconds })},
			{name: "merge age + " + fmtDuration(lagSlack), color: targetColor, dashed: true, value: constant((t.MergeAge + lagSlack).Seconds())},
		}},
		r.cpuPanel(),
		soakPanel{title: "goroutines", format: count, series: []soakSeries{
			{name: "goroutines", color: "#17becf", value: node(metricGoroutines, func(s SoakSample) float64 { return s.Goroutines })},
		}},
	)
	return panels
}

// stagePanel draws the p99 of each step of the path per interval, so that a slow
// interval of the end-to-end panel above it shows which step was slow.
func (r SoakReport) stagePanel() soakPanel {
	colors := []string{"#1f77b4", "#d62728", "#9467bd", "#2ca02c", "#ff7f0e"}
	p := soakPanel{title: "p99 of each step per interval (ms): produce call, PUT, index commit, receive and ack transactions",
		format: func(v float64) string { return fmtMs(v) }}
	for i, st := range soakStages {
		p.series = append(p.series, soakSeries{name: st.name, color: colors[i%len(colors)], value: func(s SoakSample) (float64, bool) {
			v, ok := s.StageP99Ms[st.name]
			return v, ok
		}})
	}
	return p
}

// cpuPanel draws the CPU of each watched process per interval (none watched: an empty
// panel says so by its title).
func (r SoakReport) cpuPanel() soakPanel {
	colors := []string{"#d62728", "#1f77b4", "#9467bd", "#8c564b", "#17becf", "#bcbd22"}
	p := soakPanel{title: "CPU per interval (cores) of each watched process", format: func(v float64) string { return fmt.Sprintf("%.2f", v) }}
	seen := map[string]bool{}
	for _, s := range r.Samples {
		for _, name := range slices.Sorted(maps.Keys(s.CPUCores)) {
			if seen[name] {
				continue
			}
			seen[name] = true
			p.series = append(p.series, soakSeries{name: name, color: colors[(len(seen)-1)%len(colors)], value: func(s SoakSample) (float64, bool) {
				v, ok := s.CPUCores[name]
				return v, ok
			}})
		}
	}
	if len(p.series) == 0 {
		p.title = "CPU per interval (cores): no process watched (--watch)"
	}
	return p
}

// ChartSVG renders the samples as a stack of panels over time: latency, throughput,
// memory, Postgres, the bucket and compaction, the warmup shaded.
func (r SoakReport) ChartSVG() string {
	panels := r.soakPanels()
	height := soakTopY + len(panels)*(soakPanelHeight+soakPanelGap)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth, height, chartWidth, height)
	name := "soak: " + r.Workload.Workload.Name
	fmt.Fprintf(&b, "<title>%s</title>\n", xmlText(name))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartWidth, height)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", chartLeft, xmlText(name))
	fmt.Fprintf(&b, `<text x="%d" y="44" fill="#555555">%s</text>`+"\n", chartLeft, xmlText(r.Summary))

	maxT := 1.0
	for _, s := range r.Samples {
		maxT = max(maxT, s.seconds())
	}
	x := func(t float64) float64 {
		return chartLeft + t/maxT*float64(chartWidth-chartLeft-chartRight)
	}
	for i, p := range panels {
		y0 := soakTopY + i*(soakPanelHeight+soakPanelGap)
		top := 0.0
		for _, s := range p.series {
			for _, smp := range r.Samples {
				if v, ok := s.value(smp); ok {
					top = max(top, v)
				}
			}
		}
		top = niceCeil(top * 1.05)
		y := func(v float64) float64 {
			return float64(y0) + soakPanelHeight - v/top*soakPanelHeight
		}
		r.Workload.drawPanelFrame(&b, y0, soakPanelHeight, p.title, x, maxT)
		for j := 0; j <= 4; j++ {
			v := top * float64(j) / 4
			gridLine(&b, y(v), p.format(v))
		}
		legendSeries := make([]chartSeries, len(p.series))
		for j, s := range p.series {
			drawSoakSeries(&b, s, r.Samples, x, y)
			legendSeries[j] = chartSeries{name: s.name, color: s.color, dashed: s.dashed}
		}
		legend(&b, y0, legendSeries, false)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">time since start (s)</text>`+"\n",
		chartLeft+(chartWidth-chartLeft-chartRight)/2, height-16)
	b.WriteString("</svg>\n")
	return b.String()
}

// drawSoakSeries draws one line; a sample without a value breaks it.
func drawSoakSeries(b *strings.Builder, s soakSeries, samples []SoakSample, x, y func(float64) float64) {
	var d strings.Builder
	pen := false
	for _, smp := range samples {
		v, ok := s.value(smp)
		if !ok {
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
		fmt.Fprintf(&d, "%s%.1f,%.1f", cmd, x(smp.seconds()), y(v))
		pen = true
	}
	dash := ""
	if s.dashed {
		dash = ` stroke-dasharray="6,4"`
	}
	fmt.Fprintf(b, `<path class="series" data-series="%s" d="%s" stroke="%s" stroke-width="1.8"%s fill="none"/>`+"\n",
		xmlText(s.name), d.String(), s.color, dash)
}
