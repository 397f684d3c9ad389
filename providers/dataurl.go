package providers

import (
	"encoding/base64"
	"strings"
)

// Image is an inline image from a data: URL.
type Image struct {
	MediaType string // e.g. image/png
	Data      []byte
	// Base64 is the payload as the client sent it, for formats that want it encoded.
	Base64 string
}

// ParseImageURL accepts only base64 data: URLs (data:image/png;base64,...). The proxy
// never fetches a user-supplied URL: that would let any client make it request
// arbitrary addresses inside the network (SSRF).
func ParseImageURL(url string) (*Image, error) {
	rest, ok := strings.CutPrefix(url, "data:")
	if !ok {
		return nil, InvalidRequest("messages", "Image URLs are not supported by this backend: send the image inline as a base64 data URL (data:image/png;base64,...). The gateway never fetches remote URLs.")
	}
	meta, payload, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, InvalidRequest("messages", "Malformed data URL: missing ','.")
	}
	mediaType, isBase64 := strings.CutSuffix(meta, ";base64")
	if !isBase64 {
		return nil, InvalidRequest("messages", "Image data URLs must be base64 encoded (data:image/png;base64,...).")
	}
	if i := strings.IndexByte(mediaType, ';'); i >= 0 {
		mediaType = mediaType[:i] // drop parameters such as charset
	}
	switch mediaType {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
	default:
		return nil, InvalidRequest("messages", "Unsupported image type \""+mediaType+"\": use image/png, image/jpeg, image/gif or image/webp.")
	}
	data, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return nil, InvalidRequest("messages", "Image data URL is not valid base64.")
	}
	return &Image{MediaType: mediaType, Data: data, Base64: payload}, nil
}
