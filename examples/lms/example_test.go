package lms_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/httpipc/httpipc/examples/lms"
)

// The LMS's API is an http.Handler over its SQLite database, seeded with a
// small school.
func Example() {
	dir, _ := os.MkdirTemp("", "lms")
	defer os.RemoveAll(dir)
	db, err := lms.Open(filepath.Join(dir, "lms.db"), true)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	api := db.Handler(lms.Options{})

	w := httptest.NewRecorder()
	api.ServeHTTP(w, httptest.NewRequest("GET", lms.RosteringPath+"/users/u-learner-1/classes", nil))
	var res struct {
		Classes []lms.Class `json:"classes"`
	}
	json.Unmarshal(w.Body.Bytes(), &res)
	for _, c := range res.Classes {
		fmt.Println(c.ClassCode, c.Title)
	}
	// Output:
	// MATH-7B Mathematics 7B
	// SCI-7B Science 7B
}
