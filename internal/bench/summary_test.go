package bench

import (
	"errors"
	"reflect"
	"testing"
)

func TestSpreadOf(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want Spread
	}{
		{"none", nil, Spread{}},
		{"one", []float64{5}, Spread{5, 5, 5}},
		{"odd", []float64{3, 1, 2}, Spread{2, 1, 3}},
		{"even", []float64{4, 1, 3, 2}, Spread{2.5, 1, 4}},
		{"repeated", []float64{7, 7, 1, 7, 9}, Spread{7, 1, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]float64(nil), tt.in...)
			if got := spreadOf(tt.in); got != tt.want {
				t.Fatalf("spreadOf(%v) = %+v, want %+v", tt.in, got, tt.want)
			}
			if !reflect.DeepEqual(in, tt.in) && tt.in != nil {
				t.Fatalf("spreadOf reordered its argument: %v", tt.in)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	cell := func(s, c string, ops int, ns float64) Result {
		return Result{Scenario: s, Contender: c, Ops: ops, NsPerOp: ns, BytesPerS: 1e9 / ns}
	}
	runs := [][]Result{
		{cell(RTT64B, RawUnix, 10, 100), cell(RTT64B, HTTPIPCUnix, 5, 200), cell(RTT64B, GoDBus, 1, 1000),
			{Scenario: ColdStart, Contender: ColdExec, Ops: 2, NsPerOp: 10, StartsNs: []float64{9, 11}},
			{Scenario: ColdStart, Contender: ColdLauncher, Ops: 2, NsPerOp: 20, StartsNs: []float64{20, 20}}},
		{cell(RTT64B, RawUnix, 20, 50), cell(RTT64B, HTTPIPCUnix, 6, 150),
			{Scenario: ColdStart, Contender: ColdExec, Ops: 2, NsPerOp: 10, StartsNs: []float64{10, 10}},
			{Scenario: ColdStart, Contender: ColdLauncher, Ops: 2, NsPerOp: 40, StartsNs: []float64{30, 50}}},
		{cell(RTT64B, RawUnix, 30, 100), cell(RTT64B, HTTPIPCUnix, 7, 400),
			{Scenario: ColdStart, Contender: ColdExec, Ops: 2, NsPerOp: 20, StartsNs: []float64{20, 20}},
			{Scenario: ColdStart, Contender: ColdLauncher, Ops: 2, NsPerOp: 30, StartsNs: []float64{30, 30}}},
	}
	got := Summarize(runs)
	byCell := map[string]Result{}
	var order []string
	for _, r := range got {
		byCell[r.Scenario+"/"+r.Contender] = r
		order = append(order, r.Scenario+"/"+r.Contender)
	}
	wantOrder := []string{"rtt-64B/raw-unix", "rtt-64B/httpipc-unix", "rtt-64B/godbus", "cold-start/exec", "cold-start/servicedir-launch"}
	if !reflect.DeepEqual(order, wantOrder) {
		t.Fatalf("order %v, want %v", order, wantOrder)
	}
	tests := []struct {
		cell       string
		runs, ops  int
		ns, lo, hi float64
		ratios     map[string]Spread
	}{
		{"rtt-64B/raw-unix", 3, 60, 100, 50, 100, map[string]Spread{RawUnix: {1, 1, 1}, HTTPIPCUnix: {1.0 / 3, 0.25, 0.5}, GoDBus: {0.1, 0.1, 0.1}}},
		// Ratios per run: 2, 3, 4 to raw-unix, so the median is 3, where
		// the ratio of the medians (200 over 100) would be 2.
		{"rtt-64B/httpipc-unix", 3, 18, 200, 150, 400, map[string]Spread{RawUnix: {3, 2, 4}, HTTPIPCUnix: {1, 1, 1}, GoDBus: {0.2, 0.2, 0.2}}},
		// Measured in one run only.
		{"rtt-64B/godbus", 1, 1, 1000, 1000, 1000, map[string]Spread{RawUnix: {10, 10, 10}, HTTPIPCUnix: {5, 5, 5}, GoDBus: {1, 1, 1}}},
		{"cold-start/exec", 3, 6, 10, 10, 20, map[string]Spread{ColdExec: {1, 1, 1}}},
		{"cold-start/servicedir-launch", 3, 6, 30, 20, 40, map[string]Spread{ColdExec: {2, 1.5, 4}}},
	}
	for _, tt := range tests {
		r := byCell[tt.cell]
		if r.Runs != tt.runs || r.Ops != tt.ops || r.NsPerOp != tt.ns || r.NsPerOpMin != tt.lo || r.NsPerOpMax != tt.hi {
			t.Errorf("%s: runs %d ops %d ns %v (%v-%v), want %d %d %v (%v-%v)", tt.cell, r.Runs, r.Ops, r.NsPerOp, r.NsPerOpMin, r.NsPerOpMax,
				tt.runs, tt.ops, tt.ns, tt.lo, tt.hi)
		}
		if !reflect.DeepEqual(r.Ratios, tt.ratios) {
			t.Errorf("%s: ratios %+v, want %+v", tt.cell, r.Ratios, tt.ratios)
		}
	}
	if s := byCell["cold-start/servicedir-launch"].StartsNs; !reflect.DeepEqual(s, []float64{20, 20, 30, 50, 30, 30}) {
		t.Errorf("starts %v", s)
	}
	if b := byCell["rtt-64B/httpipc-unix"].BytesPerS; b != 1e9/200 {
		t.Errorf("bytes/s %v, want the median %v", b, 1e9/200)
	}
}

func TestSelectScenarios(t *testing.T) {
	sel, err := selectScenarios(nil)
	if err != nil || len(sel) != len(Scenarios()) {
		t.Fatalf("all: %v %v", sel, err)
	}
	sel, err = selectScenarios([]string{ColdStart, RTT64B})
	if err != nil || len(sel) != 2 || !sel[ColdStart] || !sel[RTT64B] {
		t.Fatalf("two: %v %v", sel, err)
	}
	if _, err := selectScenarios([]string{"rtt-1B"}); !errors.Is(err, ErrUnknownScenario) {
		t.Fatalf("unknown: %v", err)
	}
}
