// register_jni.go is copied into the gobind-generated main package by
// mobile's JNI tests (buildJNI): it registers the handler the Java programs
// call.

package main

import (
	"fmt"
	"io"
	"net/http"

	"github.com/httpipc/httpipc/mobile/registry"
)

func init() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /classes", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `["math-7b"]`) })
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) { io.Copy(w, r.Body) })
	registry.Register("org.httpipc.jnitest", mux)
}
