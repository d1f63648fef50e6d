package golden

import (
	"path/filepath"
	"reflect"
	"testing"
)

func TestSync(t *testing.T) {
	file := filepath.Join(t.TempDir(), "v.json")
	want := []map[string]string{{"name": "a", "hex": "00"}}
	if got := Sync(t, file, want, true); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
	if got := Sync(t, file, []map[string]string(nil), false); !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %v", got)
	}
}
