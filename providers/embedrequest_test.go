package providers

import (
	"errors"
	"testing"
)

func TestParseEmbeddings(t *testing.T) {
	req, err := ParseEmbeddings([]byte(`{"model":"embed","input":["a","b"],"dimensions":256,"encoding_format":"base64","user":"u"}`))
	if err != nil || req.Model != "embed" || len(req.Input.Texts) != 2 || req.Dimensions == nil || *req.Dimensions != 256 ||
		req.EncodingFormat != "base64" || req.User != "u" {
		t.Fatalf("parsed %+v, %v", req, err)
	}
	req, err = ParseEmbeddings([]byte(`{"model":"embed","input":[[1,2,3]],"dimensions":null}`))
	if err != nil || req.Input.Texts != nil || string(req.Input.Raw) != `[[1,2,3]]` || req.Dimensions != nil {
		t.Fatalf("token input %+v, %v", req, err)
	}
}

func TestParseEmbeddingsRejects(t *testing.T) {
	cases := map[string]struct{ param, code string }{
		`{"model":"embed"}`:                                      {"input", ""},
		`{"model":"embed","input":null}`:                         {"input", ""},
		`{"input":"a"}`:                                          {"model", ""},
		`{"model":1,"input":"a"}`:                                {"model", ""},
		`{"model":"embed","input":"a","dimensions":"8"}`:         {"dimensions", ""},
		`{"model":"embed","input":"a"`:                           {"", ""},
		`{"model":"cheap","mod\u0065l":"expensive","input":"a"}`: {"model", "ambiguous_parameter"},
		`{"model":"cheap","Model":"expensive","input":"a"}`:      {"Model", "ambiguous_parameter"},
		`{"model":"cheap","input":"a","input":"b"}`:              {"input", "ambiguous_parameter"},
		`{"model":"cheap","input":"a","Dimensions":3}`:           {"Dimensions", "ambiguous_parameter"},
	}
	for body, want := range cases {
		_, err := ParseEmbeddings([]byte(body))
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 || e.Param != want.param || e.Code != want.code {
			t.Errorf("%s: got %#v, want a 400 on %q (code %q)", body, err, want.param, want.code)
		}
	}
}
