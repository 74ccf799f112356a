package e2e

import (
	"fmt"
	"testing"
)

// TestSwitchDevicesInMeeting: during an end-to-end encrypted meeting Ada
// picks another microphone in the meeting's settings; her running track
// switches to it (the settings, opened again, show it in use) and Bob
// keeps hearing her, decrypted, without a renegotiation or a reconnect.
func TestSwitchDevicesInMeeting(t *testing.T) {
	srv, host, link := e2eeMeeting(t)

	ada, bob := newTab(t, "Ada"), newTab(t, "Bob")
	ada.signedInAs(srv, host)
	ada.joinMeeting(link)
	bob.joinMeeting(link)
	adaID := ada.selfID()
	bob.decodes(adaID, "microphone")
	bob.decodes(adaID, "camera")

	ada.clickInMore("#open-devices")
	ada.waitVisible("the device settings", "#device-settings")
	var picked string
	if err := ada.eval(`(() => {
		const s = document.querySelector("#meeting-select-microphone");
		const o = [...s.options].find((o) => o.value !== "" && o.value !== s.value);
		if (!o) return "";
		s.value = o.value;
		s.dispatchEvent(new Event("change"));
		return o.value;
	})()`, &picked); err != nil {
		t.Fatal(err)
	}
	if picked == "" {
		t.Fatal("the browser lists a single microphone: nothing to switch to")
	}
	ada.click("#device-settings-done")
	ada.waitGone("the settings closed", "#device-settings")

	// Bob keeps hearing Ada: more samples, decrypted, on the same receiver.
	samples := func() float64 {
		for _, s := range bob.stats() {
			if s.Participant == adaID && s.Source == "microphone" {
				return s.TotalSamplesReceived
			}
		}
		return 0
	}
	before := samples()
	bob.waitJS("more of Ada's sound", fmt.Sprintf(`window.kaigiDebug.stats().then(s => s.some(x => x.participant === %q && x.source === "microphone" && x.totalSamplesReceived > %v))`, adaID, before+48000))

	// The running microphone is the one picked.
	ada.clickInMore("#open-devices")
	ada.waitVisible("the device settings again", "#device-settings")
	ada.waitJS("the picked microphone in use", fmt.Sprintf(`document.querySelector("#meeting-select-microphone").value === %q`, picked))
	ada.screenshot("devices")
}
