package sfu

import (
	"sync"

	"github.com/pion/interceptor"
)

// onRemoteStream wraps an interceptor factory whose interceptors act only
// on what a peer receives (the NACK generator, receiver reports and
// transport-wide congestion control feedback): each starts its
// periodic goroutine when its PeerConnection binds its RTCP writer, once
// per PeerConnection, whether or not anything is ever received. Most
// peers of a large meeting only subscribe, so the wrapped interceptor is
// given the writer when the peer's first incoming stream is bound
// instead: a subscriber-only peer then runs none of those three loops
// (three goroutines and their tickers, which woke every 100 ms, per
// subscriber), and a publisher runs them as before from its first track.
//
// This relies on what each wrapped interceptor's BindRTCPWriter does:
// keep the writer, start its loop and return the writer unchanged, so the
// chain after it is the same whether the call is made at once or later.
func onRemoteStream(f interceptor.Factory) interceptor.Factory { return lazyFactory{f} }

type lazyFactory struct{ inner interceptor.Factory }

func (f lazyFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	i, err := f.inner.NewInterceptor(id)
	if err != nil {
		return nil, err
	}
	return &lazyInterceptor{Interceptor: i}, nil
}

// lazyInterceptor holds back BindRTCPWriter until the first
// BindRemoteStream. Every other call goes straight through.
type lazyInterceptor struct {
	interceptor.Interceptor

	mu     sync.Mutex
	writer interceptor.RTCPWriter // the writer pion bound, until handed on
	bound  bool                   // handed to the inner interceptor
}

// BindRTCPWriter keeps the writer for the first incoming stream and
// returns it unchanged, as the wrapped interceptors do.
func (l *lazyInterceptor) BindRTCPWriter(writer interceptor.RTCPWriter) interceptor.RTCPWriter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bound {
		return l.Interceptor.BindRTCPWriter(writer)
	}
	l.writer = writer
	return writer
}

// BindRemoteStream starts the wrapped interceptor's loop with the kept
// writer, the first time, then binds the stream.
func (l *lazyInterceptor) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	l.mu.Lock()
	if !l.bound && l.writer != nil {
		l.bound = true
		l.Interceptor.BindRTCPWriter(l.writer)
		l.writer = nil
	}
	l.mu.Unlock()
	return l.Interceptor.BindRemoteStream(info, reader)
}
