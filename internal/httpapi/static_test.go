package httpapi

import (
	"net/http"
	"testing"
	"testing/fstest"
)

// Background blur's files are served with the types the browser needs:
// WebAssembly as application/wasm (streaming compilation takes nothing
// else), the model and graph as opaque data, scripts as JavaScript.
func TestBlurAssetTypes(t *testing.T) {
	web := fstest.MapFS{
		"index.html":                               {Data: []byte("<!doctype html>")},
		"assets/blur-worker.js":                    {Data: []byte("importScripts()")},
		"assets/blur/selfie_segmentation.js":       {Data: []byte("(function(){})")},
		"assets/blur/x_wasm_bin.wasm":              {Data: []byte("\x00asm\x01\x00\x00\x00")},
		"assets/blur/selfie_segmentation.tflite":   {Data: []byte("TFL3")},
		"assets/blur/selfie_segmentation.binarypb": {Data: []byte{0x0a, 0x01}},
	}
	h, _ := newTestHandler(t, web)
	for path, want := range map[string]string{
		"/assets/blur-worker.js":                    "text/javascript; charset=utf-8",
		"/assets/blur/selfie_segmentation.js":       "text/javascript; charset=utf-8",
		"/assets/blur/x_wasm_bin.wasm":              "application/wasm",
		"/assets/blur/selfie_segmentation.tflite":   "application/octet-stream",
		"/assets/blur/selfie_segmentation.binarypb": "application/octet-stream",
	} {
		rec := do(h, "GET", path, nil)
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s = %d", path, rec.Code)
			continue
		}
		if got := rec.Header().Get("Content-Type"); got != want {
			t.Errorf("GET %s: Content-Type %q, want %q", path, got, want)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", path)
		}
	}
}
