#!/usr/bin/env python3
"""A WHIP client (RFC 9725) made of GStreamer's webrtcbin, for the test
TestGStreamerPublishesIntoAMeeting: it publishes what a video and an audio
pipeline (gst-launch syntax, ending in RTP caps) make, offers every
candidate in the SDP (no trickle), POSTs the offer with a bearer token,
applies the answer, and on SIGINT or SIGTERM DELETEs the session's
resource and exits.

    gst_whip.py URL TOKEN VIDEO_PIPELINE AUDIO_PIPELINE

Debian bookworm's GStreamer 1.22 has no whipsink, and its whip-client
(simple-whip-client) aborts: it links libsoup 2, libnice pulls in
libsoup 3. Python's HTTP client has neither.
"""
import signal
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402


def request(method, url, token, body=None):
    headers = {"Authorization": "Bearer " + token}
    if body is not None:
        headers["Content-Type"] = "application/sdp"
        body = body.encode()
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, res.headers, res.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def session(pipe, rtc, url, token):
    """Negotiates webrtcbin rtc (in pipe) with the WHIP or WHEP endpoint
    url: the offer with every candidate, POSTed with the bearer token, the
    answer applied; then runs until SIGINT or SIGTERM, DELETEs the
    session's resource and returns the exit status."""
    offered = threading.Event()
    gathered = threading.Event()

    def on_offer(promise, _):
        # webrtcbin asks for negotiation as each pad comes; an offer
        # asked for too early is NULL or lacks a section: only one with
        # both the video's and the audio's is taken.
        reply = promise.get_reply()
        offer = reply.get_value("offer") if reply else None
        if offer is None or offer.sdp.medias_len() != 2 or offered.is_set():
            return
        rtc.emit("set-local-description", offer, Gst.Promise.new())
        offered.set()

    def on_negotiation_needed(_):
        rtc.emit("create-offer", None, Gst.Promise.new_with_change_func(on_offer, None))

    def on_gathering(*_):
        if rtc.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            gathered.set()

    rtc.connect("on-negotiation-needed", on_negotiation_needed)
    rtc.connect("notify::ice-gathering-state", on_gathering)
    pipe.set_state(Gst.State.PLAYING)
    if not offered.wait(20) or not gathered.wait(20):
        print("no offer or no candidates", file=sys.stderr)
        return 1
    offer = rtc.get_property("local-description").sdp.as_text()
    print(offer, file=sys.stderr)
    status, headers, body = request("POST", url, token, offer)
    if status != 201:
        print("refused: %d %s" % (status, body), file=sys.stderr)
        return 1
    location = urllib.parse.urljoin(url, headers["Location"])
    print(body, file=sys.stderr)
    _, sdp = GstSdp.SDPMessage.new_from_text(body)
    answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, sdp)
    rtc.emit("set-remote-description", answer, Gst.Promise.new())

    loop = GLib.MainLoop()

    def stop(*_):
        status, _, _ = request("DELETE", location, token)
        print("DELETE: %d" % status, file=sys.stderr)
        loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, stop)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, stop)
    bus = pipe.get_bus()
    bus.add_signal_watch()

    def on_message(_, msg):
        if msg.type == Gst.MessageType.ERROR:
            print("error: %s" % (msg.parse_error(),), file=sys.stderr)
            loop.quit()

    bus.connect("message", on_message)
    loop.run()
    pipe.set_state(Gst.State.NULL)
    return 0


def main():
    url, token, video, audio = sys.argv[1:5]
    Gst.init(None)
    pipe = Gst.parse_launch(
        "webrtcbin name=pub bundle-policy=max-bundle "
        + video + " ! pub. " + audio + " ! pub.")
    return session(pipe, pipe.get_by_name("pub"), url, token)


if __name__ == "__main__":
    sys.exit(main())
