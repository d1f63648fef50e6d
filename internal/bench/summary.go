package bench

import (
	"slices"
)

// Spread is the median of some figures and their range.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// spreadOf returns the median and range of xs; the median of an even
// number of figures is the mean of the middle two. Empty xs gives zeros.
func spreadOf(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Spread{Median: med, Min: s[0], Max: s[n-1]}
}

// Baselines are the contenders every other cell of their scenario is
// compared with, in the order they are reported: a cell's Ratios hold its
// time per operation over theirs.
var Baselines = []string{RawUnix, HandlerFloor, NetHTTPUnix, NetHTTPTCP, HTTPIPCUnix, GoDBus, ColdExec}

// Summarize merges the results of several runs of the same measurement
// into one result per cell, in the order of the first run that has the
// cell. For each cell, NsPerOp and BytesPerS are medians over the runs
// (PeakRSSDeltaBytes too), NsPerOpMin and NsPerOpMax their range, Ops and
// StartsNs what all the runs did together, and each ratio to a baseline is
// taken within each run and then summarised over the runs where both cells
// were measured.
func Summarize(runs [][]Result) []Result {
	type key struct{ scenario, contender string }
	var order []key
	cells := map[key][]Result{}
	for _, run := range runs {
		for _, r := range run {
			k := key{r.Scenario, r.Contender}
			if _, ok := cells[k]; !ok {
				order = append(order, k)
			}
			cells[k] = append(cells[k], r)
		}
	}
	out := make([]Result, 0, len(order))
	for _, k := range order {
		rs := cells[k]
		var ns, bps, rss []float64
		sum := Result{Scenario: k.scenario, Contender: k.contender, Runs: len(rs)}
		for _, r := range rs {
			ns = append(ns, r.NsPerOp)
			bps = append(bps, r.BytesPerS)
			rss = append(rss, float64(r.PeakRSSDeltaBytes))
			sum.Ops += r.Ops
			sum.StartsNs = append(sum.StartsNs, r.StartsNs...)
		}
		t := spreadOf(ns)
		sum.NsPerOp, sum.NsPerOpMin, sum.NsPerOpMax = t.Median, t.Min, t.Max
		sum.BytesPerS = spreadOf(bps).Median
		sum.PeakRSSDeltaBytes = int64(spreadOf(rss).Median)
		for _, b := range Baselines {
			var ratios []float64
			for _, run := range runs {
				var cell, base *Result
				for i := range run {
					if run[i].Scenario != k.scenario {
						continue
					}
					switch run[i].Contender {
					case k.contender:
						cell = &run[i]
					case b:
						base = &run[i]
					}
				}
				if k.contender == b {
					base = cell
				}
				if cell != nil && base != nil && base.NsPerOp > 0 {
					ratios = append(ratios, cell.NsPerOp/base.NsPerOp)
				}
			}
			if len(ratios) > 0 {
				if sum.Ratios == nil {
					sum.Ratios = map[string]Spread{}
				}
				sum.Ratios[b] = spreadOf(ratios)
			}
		}
		out = append(out, sum)
	}
	return out
}
