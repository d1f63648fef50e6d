// register_jni.go is copied into the gobind-generated main package by
// mobile.TestJNI: it registers the handler the Java program calls.

package main

import (
	"fmt"
	"net/http"

	"github.com/httpipc/httpipc/mobile/registry"
)

func init() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /classes", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `["math-7b"]`) })
	registry.Register("org.httpipc.jnitest", mux)
}
