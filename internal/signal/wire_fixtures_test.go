package signal

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestDecoderTakesEveryClientFixture: the canonical example of every
// client message (internal/wire/testdata, which the web client's tests
// check its own messages against) passes decodeClientMessage's checks,
// and what it decodes is what the example says (nothing the decoder
// drops: encoding the decoded message again gives every field of the
// example with its value).
func TestDecoderTakesEveryClientFixture(t *testing.T) {
	files, err := filepath.Glob("../wire/testdata/client-to-server/*.json")
	if err != nil || len(files) < 20 {
		t.Fatalf("client fixtures: %d, %v", len(files), err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := decodeClientMessage(b)
		if err != nil {
			t.Errorf("%s refused: %v", filepath.Base(f), err)
			continue
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var want, got map[string]any
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(again, &got); err != nil {
			t.Fatal(err)
		}
		for k, v := range want {
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("%s: %s decoded as %v, want %v", filepath.Base(f), k, got[k], v)
			}
		}
	}
}
