package jsonfield

import "errors"

// ErrNotArray is returned for input that is not a well-formed JSON array.
var ErrNotArray = errors.New("jsonfield: not a JSON array")

// EachElement calls fn with the raw value of every element of the array in arr, in
// order, stopping early when fn returns false. Like Each, it checks structure only.
func EachElement(arr []byte, fn func(value []byte) bool) error {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return ErrNotArray
	}
	i = skipSpace(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		return nil
	}
	for {
		end, ok := skipValue(arr, i)
		if !ok {
			return ErrNotArray
		}
		if !fn(arr[i:end]) {
			return nil
		}
		i = skipSpace(arr, end)
		if i >= len(arr) {
			return ErrNotArray
		}
		switch arr[i] {
		case ',':
			i = skipSpace(arr, i+1)
		case ']':
			return nil
		default:
			return ErrNotArray
		}
	}
}
