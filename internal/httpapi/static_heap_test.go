package httpapi

import (
	"net/http/httptest"
	"runtime"
	"testing"
	"testing/fstest"
)

// liveHeap is the heap in use after a collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestWebClientNotCopiedIntoTheHeap: the server keeps the web client's
// files where they are (in the executable, for the embedded client), not
// a copy of each in its heap: with background blur's WebAssembly that
// copy was 15 MiB of an idle server's 19 MiB live heap. A client with a
// 16 MiB file loads without the heap growing by half of it, and the file
// is still served whole.
func TestWebClientNotCopiedIntoTheHeap(t *testing.T) {
	const size = 16 << 20
	big := make([]byte, size)
	for i := range big {
		big[i] = byte(i * 7)
	}
	web := fstest.MapFS{
		"index.html":      {Data: []byte("<!doctype html>")},
		"assets/big.wasm": {Data: big},
	}
	before := liveHeap()
	wc, err := loadWebClient(web)
	if err != nil {
		t.Fatal(err)
	}
	grew := liveHeap() - before
	runtime.KeepAlive(wc)
	if grew > size/2 {
		t.Errorf("loading the web client grew the live heap by %.1f MiB for a %d MiB file", float64(grew)/(1<<20), size>>20)
	}

	rec := httptest.NewRecorder()
	wc.serve(rec, httptest.NewRequest("GET", "/assets/big.wasm", nil), "assets/big.wasm")
	if rec.Code != 200 || rec.Body.Len() != size || rec.Body.Bytes()[size-1] != big[size-1] {
		t.Fatalf("GET the file: %d, %d bytes, want 200 and the %d bytes", rec.Code, rec.Body.Len(), size)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/wasm" {
		t.Errorf("Content-Type %q", ct)
	}
	rec = httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/assets/big.wasm", nil)
	req.Header.Set("Range", "bytes=100-199")
	wc.serve(rec, req, "assets/big.wasm")
	if rec.Code != 206 || rec.Body.Len() != 100 || rec.Body.Bytes()[0] != big[100] {
		t.Errorf("a range: %d, %d bytes, want 206 and 100", rec.Code, rec.Body.Len())
	}
}
