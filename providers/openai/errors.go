package openai

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/providers"
)

// errorBody is OpenAI's error document. Azure sends "code" as a string ("429",
// "content_filter"), some compatible servers as a number, so it is kept raw.
type errorBody struct {
	Error *struct {
		Message    string          `json:"message"`
		Type       string          `json:"type"`
		Param      json.RawMessage `json:"param"`
		Code       json.RawMessage `json:"code"`
		InnerError *struct {
			Code string `json:"code"`
		} `json:"innererror"`
	} `json:"error"`
	// vLLM and others send {"object":"error","message":...,"code":400}.
	Message string `json:"message"`
}

// upstreamError classifies a non-200 response.
func upstreamError(resp *http.Response) *providers.Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	e := parseError(resp.StatusCode, body)
	if e.Class == providers.ClassRateLimited || e.Class == providers.ClassQuota || e.Class == providers.ClassUnavailable {
		e.RetryAfter = providers.RetryAfter(resp.Header, time.Now())
	}
	return e
}

// parseError turns an error document (or anything else) into a classified error.
// Azure's content filter answers 400 with code "content_filter" and innererror code
// ResponsibleAIPolicyViolation (https://learn.microsoft.com/azure/ai-services/openai/concepts/content-filter).
func parseError(status int, body []byte) *providers.Error {
	e := &providers.Error{Status: status}
	var doc errorBody
	if json.Unmarshal(body, &doc) == nil && doc.Error != nil {
		e.Message = doc.Error.Message
		e.Type = doc.Error.Type
		e.Code = rawString(doc.Error.Code)
		e.Param = rawString(doc.Error.Param)
		if doc.Error.InnerError != nil && doc.Error.InnerError.Code == "ResponsibleAIPolicyViolation" {
			e.Code = "content_filter"
		}
	} else if doc.Message != "" {
		e.Message = doc.Message
	} else {
		e.Message = strings.TrimSpace(string(bytes.ToValidUTF8(truncate(body, 512), nil)))
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	if e.Message == "" {
		e.Message = "upstream returned HTTP " + strconv.Itoa(status)
	}
	e.Class = providers.ClassifyStatus(status, e.Code, e.Message)
	if e.Class == providers.ClassContextLength {
		e.Code = "context_length_exceeded"
	}
	return e
}

func rawString(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw) // a number
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
