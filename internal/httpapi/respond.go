package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, message
	writeJSON(w, status, e)
}

// maxBody bounds every JSON request body.
const maxBody = 16 << 10

// readJSON decodes a request body strictly: unknown fields, trailing data
// and oversized bodies are errors the client is told about.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("data after the JSON object")
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		msg := "The request is not valid JSON of the expected shape."
		switch {
		case errors.As(err, &tooBig):
			msg = "The request is too large."
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			msg = fmt.Sprintf("The request has a field this server does not know: %s.", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return false
	}
	return true
}
